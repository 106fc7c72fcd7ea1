"""`circleback doctor`: each check passes on a healthy setup and fails, with its fix, on a broken one."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from circleback.daemon.app import doctor
from circleback.daemon.app.demo_world import build_world

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


def by_name(checks: list[doctor.Check]) -> dict[str, doctor.Check]:
    return {c.name: c for c in checks}


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Path, Path]:
    world = build_world(tmp_path / "w", anchor=NOW)
    state = tmp_path / "state"
    state.mkdir(mode=0o700)
    return world.config_path, state


def doctor_cli(config: Path, state: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "circleback.daemon.cli", "--config", str(config),
                           "--state-dir", str(state), "doctor"], capture_output=True, text=True, timeout=60)


def test_a_healthy_setup_passes_and_exits_0(setup: tuple[Path, Path]) -> None:
    config, state = setup
    out = doctor_cli(config, state)
    assert out.returncode == 0, out.stdout
    assert "pass  config:" in out.stdout and "pass  account mail:" in out.stdout
    assert "FAIL" not in out.stdout and out.stdout.rstrip().endswith("All checks passed.")


def test_broken_things_fail_with_their_fix_and_exit_1(setup: tuple[Path, Path], tmp_path: Path) -> None:
    config, state = setup
    os.chmod(state, 0o755)  # noqa: S103 - the mistake doctor must catch
    (state / "tokens").mkdir()
    (state / "tokens" / "gmail-work.json").write_text("{}")
    os.chmod(state / "tokens" / "gmail-work.json", 0o644)
    calendar = config.parent / "calendar"
    calendar.rename(config.parent / "calendar.away")
    out = doctor_cli(config, state)
    assert out.returncode == 1
    lines = out.stdout.splitlines()

    def fix_after(prefix: str) -> str:
        i = next(n for n, line in enumerate(lines) if line.startswith(prefix))
        assert lines[i + 1].startswith("      fix: ")
        return lines[i + 1]

    assert "chmod 700" in fix_after("FAIL  state dir private:")
    assert "chmod 600" in fix_after("FAIL  token files: readable by others: gmail-work.json (0644)")
    assert "path" in fix_after(f"FAIL  account calendar: {calendar} does not exist")
    assert "pass  account mail:" in out.stdout
    assert lines[-1] == "3 problem(s) found."


def test_an_invalid_config_is_one_failure_with_the_key_path(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text("[drafting]\nbudget = 3\n")
    checks = by_name(doctor.run_checks(config, tmp_path / "state", home=tmp_path))
    assert checks["config"].failed and "drafting.budget: unknown key" in checks["config"].detail
    assert "account" not in " ".join(checks)  # nothing to check accounts against


def test_unreachable_server_fails_and_a_listening_one_passes(tmp_path: Path) -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    config = tmp_path / "c.toml"
    account = ('[[accounts]]\nname = "{n}"\nkind = "imap"\nhost = "127.0.0.1"\nport = {p}\n'
               'security = "none"\nusername = "a"\npassword_env = "X"\n')
    config.write_text('[me]\naddresses = ["a@example.org"]\n' + account.format(n="up", p=port))
    assert by_name(doctor.run_checks(config, tmp_path / "s", home=tmp_path))["account up"].outcome == doctor.PASS
    listener.close()
    config.write_text('[me]\naddresses = ["a@example.org"]\n' + account.format(n="down", p=port))
    check = by_name(doctor.run_checks(config, tmp_path / "s", home=tmp_path))["account down"]
    assert check.failed and f"127.0.0.1:{port}" in check.detail


def test_clock_before_2024_or_behind_the_state_fails(tmp_path: Path) -> None:
    assert doctor.check_clock(tmp_path, datetime(2001, 1, 1, tzinfo=UTC)).failed
    (tmp_path / "ledger.sqlite3").write_text("")
    assert doctor.check_clock(tmp_path, datetime.now(UTC)).outcome == doctor.PASS
    assert doctor.check_clock(tmp_path, datetime.now(UTC) - timedelta(days=3)).failed  # the clock jumped back


def test_versions() -> None:
    assert [c.outcome for c in doctor.check_versions((3, 11), lambda _: "3.1.4")] == [doctor.PASS, doctor.PASS]
    old = doctor.check_versions((3, 10), lambda _: "3.0.3")
    assert all(c.failed and c.fix for c in old)


def test_unit_not_installed_is_a_hint_and_enabled_passes(tmp_path: Path) -> None:
    nowhere = tmp_path / "etc"
    hint = doctor.check_unit(tmp_path, nowhere)
    assert hint.outcome == doctor.HINT and not hint.failed and "not installed" in hint.detail
    user = tmp_path / ".config" / "systemd" / "user"
    (user / "default.target.wants").mkdir(parents=True)
    (user / "circleback.service").write_text("[Service]\n")
    assert doctor.check_unit(tmp_path, nowhere).outcome == doctor.HINT  # installed, not enabled
    (user / "default.target.wants" / "circleback.service").symlink_to(user / "circleback.service")
    assert doctor.check_unit(tmp_path, nowhere).outcome == doctor.PASS


@pytest.mark.parametrize(("state", "says", "fix"), [
    ("ran once", "the last `run --once` could not sign in: mail, personal",
     "correct mail's login or password in the config; circleback auth google personal; then run again"),
    ("running", "paused, credential revoked: mail, personal", "; then reload or restart circleback"),
])
def test_a_paused_account_is_a_failure_with_the_fix_for_how_circleback_ran(
    tmp_path: Path, state: str, says: str, fix: str,
) -> None:
    from circleback.daemon.app.statusfile import write_status

    tmp_path.chmod(0o700)
    write_status(tmp_path, {"state": state, "summary": "", "accounts": {
        "personal": {"kind": "gmail", "paused": True}, "mail": {"kind": "imap", "paused": True},
        "work": {"kind": "imap", "paused": False}}})

    [check] = doctor.check_service_status(tmp_path)
    [elsewhere] = doctor.check_service_status(tmp_path, "circleback --state-dir st")

    assert check.failed and check.detail == says and fix in check.fix
    assert "; circleback --state-dir st auth google personal; " in elsewhere.fix


def test_an_account_paused_on_its_configuration_says_what_to_change_not_to_sign_in(tmp_path: Path) -> None:
    from circleback.daemon.app.statusfile import write_status

    tmp_path.chmod(0o700)
    why = "the TLS certificate of dav.example:443 did not verify: self-signed certificate; set ca_file"
    write_status(tmp_path, {"state": "running", "summary": "", "accounts": {
        "dav": {"kind": "caldav", "paused": True, "paused_for": "configuration", "last_error": why}}})

    [check] = doctor.check_service_status(tmp_path)

    assert check.failed and check.detail == f"paused, cannot work as configured: dav: {why}"
    assert "auth" not in check.fix and "reloads" in check.fix


# --- what doctor says when the state directory or a folder on the way is broken ----------------------


@pytest.mark.parametrize("where", ["a file", "under a file"])
def test_a_state_dir_that_is_a_file_is_said_once_and_what_needs_it_is_skipped(tmp_path: Path, where: str) -> None:
    config = build_world(tmp_path / "w", anchor=NOW).config_path
    blocker = tmp_path / "sfile"
    blocker.write_text("")
    state = blocker if where == "a file" else blocker / "sub"

    out = doctor_cli(config, state)

    assert out.returncode == 1, out.stdout
    said = "is not a directory" if where == "a file" else f"is not a directory, so {state} cannot be made"
    assert f"FAIL  state dir: {blocker} {said}\n" in out.stdout
    assert [ln for ln in out.stdout.splitlines() if str(blocker) in ln] == [f"FAIL  state dir: {blocker} {said}"]
    assert "chown" not in out.stdout and "chmod" not in out.stdout  # said once, not as three problems
    assert "skip  token files: not run: the state directory is unusable" in out.stdout
    assert "pass  token" not in out.stdout and "pass  account mail:" in out.stdout  # accounts still checked
    assert out.stdout.rstrip().endswith("1 problem(s) found.")


def test_a_folder_doctor_may_not_look_into_is_one_line_not_a_traceback(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    # As an unprivileged user with HOME=/root: stat() of /root/.config/... is EACCES, not "missing".
    # Root (as in CI) may look anywhere, so the refusal is made to answer as it would for that user.
    home = tmp_path / "root"
    real_exists = Path.exists

    def exists(path: Path) -> bool:
        if path.is_relative_to(home):
            raise PermissionError(13, "Permission denied", str(path))
        return real_exists(path)

    monkeypatch.setattr(Path, "exists", exists)
    unit = by_name(doctor.run_checks(tmp_path / "none.toml", tmp_path / "state", home=home))["systemd unit"]
    state = by_name(doctor.run_checks(tmp_path / "none.toml", home / "state", home=tmp_path))

    assert unit.outcome == doctor.HINT and not unit.failed
    assert unit.detail == f"could not look: {home}/.config/systemd/user/circleback.service: Permission denied"
    assert state["state dir"].failed and state["state dir"].detail == f"could not look: {home}/state: Permission denied"
    assert state["token files"].outcome == doctor.SKIP and not state["token files"].failed


def test_fixes_name_the_config_and_state_dir_doctor_was_given(tmp_path: Path) -> None:
    state = tmp_path / "my state"
    config = tmp_path / "c2.toml"
    config.write_text('[me]\naddresses = ["a@example.org"]\n')
    checks = by_name(doctor.run_checks(config, state, home=tmp_path))
    assert f"`circleback --config {config} --state-dir '{state}' config init` writes" in checks["accounts"].fix
