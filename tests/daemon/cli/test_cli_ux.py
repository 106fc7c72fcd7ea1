"""What a user sees from the CLI when things are not fine: unusable state, failing or
unauthorised accounts, an empty ledger, a bare command group; and what the demo and
``status`` say (ages that agree with the drafts, every draft counted, JSON a person a line)."""

from __future__ import annotations

import json
import os
import random
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from importlib import metadata
from pathlib import Path
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from circleback.connectors.errors import AuthRevoked
from circleback.connectors.maildir import MaildirConnector
from circleback.daemon.app import session
from circleback.daemon.app.demo import demo_now, run_demo
from circleback.daemon.app.demo_world import build_world
from circleback.daemon.app.suggest import account_failure
from circleback.daemon.app.suggest import command as suggested
from circleback.daemon.cli import main
from circleback.daemon.cli.root import _ago
from circleback.daemon.config import load_settings
from circleback.daemon.core import goals
from circleback.daemon.core.planner import in_quiet_hours
from circleback.daemon.core.templating import ago
from circleback.daemon.store.ledger import Ledger
from circleback.daemon.store.timestamps import iso
from tests.support.ledger_sql import raw_sql

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)  # 10:00 in London: outside the demo's quiet hours
NOW_TEXT = NOW.isoformat()
ME = '[me]\nname = "Alex Morgan"\naddresses = ["alex@example.org"]\ntimezone = "Europe/London"\n'


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    """The real entry point in a fresh interpreter: its logging and exit code as a user gets them."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CIRCLEBACK_")}
    return subprocess.run([sys.executable, "-m", "circleback.daemon.cli", *args],
                          capture_output=True, text=True, timeout=120, env=clean)


def maildir_config(tmp_path: Path, path: Path, extra: str = "") -> Path:
    config = tmp_path / "config.toml"
    config.write_text(ME + f'\n[[accounts]]\nname = "home"\nkind = "maildir"\npath = "{path}"\n' + extra)
    return config


# -- an unusable state directory: one line, exit 73 ----------------------------------------


@pytest.mark.parametrize("command", [["run", "--once"], ["snooze", "Priya", "30d"], ["status"]], ids=" ".join)
@pytest.mark.parametrize("where", ["a file", "under a file"])
def test_a_state_dir_that_is_a_file_is_one_line_and_exit_73(tmp_path: Path, command: list[str], where: str) -> None:
    blocker = tmp_path / "state"
    blocker.write_text("not a directory\n")
    state = blocker if where == "a file" else blocker / "sub"
    out = cli("--config", str(maildir_config(tmp_path, tmp_path)), "--state-dir", str(state), *command)
    assert out.returncode == 73, out.stderr
    assert "Traceback" not in out.stderr
    assert out.stderr.count("\n") == 1 and out.stderr.startswith(f"error: {state}: "), out.stderr


def test_a_read_only_state_dir_is_one_line_and_exit_73(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # root (as in CI) may write anywhere, so the permission check is made to answer as it would for a
    # user; the same code path serves a real 0500 directory.
    state = tmp_path / "state"
    state.mkdir()
    real_access = os.access
    monkeypatch.setattr(session.os, "access",
                        lambda p, mode: not (Path(p) == state and mode & os.W_OK) and real_access(p, mode))
    for command in (["run", "--once"], ["snooze", "Priya", "30d"]):
        out = CliRunner().invoke(main, ["--config", str(maildir_config(tmp_path, tmp_path)),
                                        "--state-dir", str(state), *command])
        assert out.exit_code == 73, out.output
        assert out.output == f"error: {state}: the state directory is not writable; fix its permissions " \
                             "or pass another --state-dir\n"


# -- failing and unauthorised accounts ------------------------------------------------------------


def test_a_missing_maildir_is_said_once_and_run_once_exits_75(tmp_path: Path) -> None:
    run_demo(tmp_path / "demo", now=NOW)  # drafts waiting: the outbox will want to list them too
    config, state = tmp_path / "demo" / "config.toml", tmp_path / "demo" / "state"
    mail = tmp_path / "demo" / "Mail"
    mail.rename(tmp_path / "unmounted")
    out = cli("--config", str(config), "--state-dir", str(state), "run", "--once", "--now", NOW_TEXT)
    assert out.returncode == 75, out.stderr
    said = out.stdout + out.stderr
    assert said.count(str(mail)) == 1, said  # not again as a log line, nor as "cannot list drafts"
    assert f"mail (maildir): failed: {mail} is not a folder" in out.stdout
    assert "mail: mail" not in said and "ConnectorError" not in said
    assert out.stderr == "error: 1 of 2 account(s) failed (mail); the others were synced\n"
    assert "calendar (ics): " in out.stdout  # the other account still synced
    status = cli("--config", str(config), "--state-dir", str(state), "status")
    assert f"  mail: failing: {mail} is not a folder" in status.stdout


def gmail_account(tmp_path: Path, name: str) -> str:
    secrets = tmp_path / "client_secret.json"
    secrets.write_text(json.dumps({"installed": {
        "client_id": "x", "client_secret": "y", "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": "https://oauth2.googleapis.com/token", "redirect_uris": ["http://localhost"]}}))
    return (f'\n[[accounts]]\nname = "{name}"\nkind = "gmail"\nclient_secrets = "{secrets}"\n'
            f'token_path = "{tmp_path / "tokens" / name}.json"\n')


def test_a_gmail_account_never_authorised_exits_77_and_status_shows_the_fix(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(ME + gmail_account(tmp_path, "personal"))
    state = tmp_path / "state"
    out = cli("--config", str(config), "--state-dir", str(state), "run", "--once")
    assert out.returncode == 77, out.stderr
    assert "personal (gmail): needs authorising: " in out.stdout
    # The fix names the same config and state directory, or `auth` saves a token `run` never finds.
    fix = f"authorise with: circleback --config {config} --state-dir {state} auth google personal"
    assert fix in out.stdout
    assert out.stderr == "error: 1 of 1 account(s) need authorising (personal; see above); nothing was synced\n"
    status = cli("--config", str(config), "--state-dir", str(state), "status")
    assert status.returncode == 0, status.stderr
    paused = [ln for ln in status.stdout.splitlines() if ln.startswith("  personal: paused: ")]
    assert len(paused) == 1 and paused[0].endswith(fix), status.stdout
    assert f"Nothing synced yet: run `circleback --config {config} --state-dir {state} run --once` first." \
        in status.stdout


def test_one_unauthorised_account_among_working_ones_exits_77(tmp_path: Path) -> None:
    # 75 would have cron retry for ever; only the user can fix this one.
    (tmp_path / "Mail" / "cur").mkdir(parents=True)
    config = maildir_config(tmp_path, tmp_path / "Mail", gmail_account(tmp_path, "personal"))
    out = cli("--config", str(config), "--state-dir", str(tmp_path / "state"), "run", "--once")
    assert out.returncode == 77, out.stderr
    assert out.stderr == "error: 1 of 2 account(s) need authorising (personal; see above); the others were synced\n"


def test_an_account_needing_authorising_outranks_one_that_failed(tmp_path: Path) -> None:
    config = maildir_config(tmp_path, tmp_path / "unmounted", gmail_account(tmp_path, "personal"))
    out = cli("--config", str(config), "--state-dir", str(tmp_path / "state"), "run", "--once")
    assert out.returncode == 77, out.stderr
    assert out.stderr == ("error: 1 of 2 account(s) need authorising (personal; see above); "
                          "1 of 2 account(s) failed (home); nothing was synced\n")


def test_hints_name_only_the_options_that_differ_from_the_defaults(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    config, state = tmp_path / "my config.toml", tmp_path / "state"
    monkeypatch.setattr(session, "default_config_path", lambda: config)
    monkeypatch.setattr(session, "default_state_dir", lambda: state)
    here = SimpleNamespace(config_path=config, state_dir=state)
    elsewhere = SimpleNamespace(config_path=tmp_path / "c2.toml", state_dir=Path("st"))
    assert suggested(here, "auth", "google", "my mail") == "circleback auth google 'my mail'"
    assert suggested(SimpleNamespace(config_path=config, state_dir=Path("st")), "status") == \
        "circleback --state-dir st status"
    assert suggested(SimpleNamespace(config_path=tmp_path / "a b.toml", state_dir=state), "status") == \
        f"circleback --config '{tmp_path}/a b.toml' status"
    # The sign-in command is built from the error's fields, never found in its text (a path may look like one).
    failure = AuthRevoked("no token at /opt/circleback auth/t.json", account="x", provider="google", remedy="authorise")
    assert str(failure) == "x: no token at /opt/circleback auth/t.json; authorise with: circleback auth google x"
    assert account_failure(elsewhere, "x", failure) == (
        f"no token at /opt/circleback auth/t.json; authorise with: circleback --config {tmp_path}/c2.toml "
        "--state-dir st auth google x")
    assert account_failure(here, "x", failure) == str(failure).removeprefix("x: ")
    # An error about another account, or not ours, is printed whole.
    assert account_failure(elsewhere, "y", failure) == str(failure)
    assert account_failure(elsewhere, "x", OSError("x: disk\n gone")) == "x: disk gone"


def test_run_once_that_went_well_exits_0_and_says_so_in_status(tmp_path: Path) -> None:
    (tmp_path / "Mail" / "cur").mkdir(parents=True)
    config = maildir_config(tmp_path, tmp_path / "Mail")
    out = cli("--config", str(config), "--state-dir", str(tmp_path / "state"), "run", "--once")
    assert out.returncode == 0 and out.stderr == "", out.stderr
    status = cli("--config", str(config), "--state-dir", str(tmp_path / "state"), "status")
    assert "Last `run --once` (" in status.stdout and "1 account(s), 0 draft(s) written" in status.stdout
    assert "Nothing synced yet" not in status.stdout  # the empty Maildir was synced


# -- small things the CLI should just do -------------------------------------------------------


def test_version() -> None:
    out = CliRunner().invoke(main, ["--version"])
    assert out.exit_code == 0
    assert out.output == f"circleback {metadata.version('circleback')}\n"


@pytest.mark.parametrize("group", [[], ["templates"], ["auth"], ["config"], ["import"]], ids=" ".join)
def test_a_bare_group_prints_its_help_and_exits_0(group: list[str]) -> None:
    out = CliRunner().invoke(main, group)
    assert out.exit_code == 0, out.output
    assert out.output.startswith(f"Usage: {' '.join(['main', *group])} [OPTIONS] COMMAND")
    assert "Commands:" in out.output


def test_run_help_gives_intervals_that_parse_as_minutes() -> None:
    out = CliRunner().invoke(main, ["run", "--help"])
    assert "15min" in out.output and not re.search(r"\b15m\b", out.output)
    assert "75  --once: an account failed, none needs authorising" in out.output
    assert "77  --once: an account needs authorising (any others synced)" in out.output


def test_an_empty_ledger_says_to_sync_first(tmp_path: Path) -> None:
    config = maildir_config(tmp_path, tmp_path / "Mail")
    args = ["--config", str(config), "--state-dir", str(tmp_path / "state")]
    hint = f"Nothing synced yet: run `circleback {' '.join(args)} run --once` first.\n"
    status = cli(*args, "status")
    assert hint in status.stdout
    as_json = cli(*args, "status", "--json")
    assert json.loads(as_json.stdout) == [] and as_json.stderr == hint  # stdout stays parseable
    plan = cli(*args, "plan")
    assert plan.returncode == 0 and plan.stdout == hint


@pytest.mark.parametrize("length", ["15min", "12h", "0.5d"])
def test_a_snooze_shorter_than_a_day_is_refused_before_touching_the_state(tmp_path: Path, length: str) -> None:
    # The snooze ends on a date: anything under a day would end today and do nothing.
    args = ["--config", str(maildir_config(tmp_path, tmp_path)), "--state-dir", str(tmp_path / "s")]
    out = CliRunner().invoke(main, [*args, "snooze", "Priya", length])
    assert out.exit_code == 2
    assert f"'{length}': snooze is for days or longer: e.g. 3d, 2w, 3mo" in out.output
    assert not (tmp_path / "s").exists()
    assert "no person matches" in CliRunner().invoke(main, [*args, "snooze", "Priya", "1d"]).output  # a day will do


# -- status: ages and JSON --------------------------------------------------------------------------

_WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve"]


def test_status_age_in_months_agrees_with_the_drafts() -> None:
    now = datetime(2026, 11, 20, tzinfo=UTC)
    assert _ago(now, now - timedelta(days=200)) == "7 mo ago" and ago(200) == "about seven months"
    for days in range(60, 320):  # where the drafts say "about N months"
        drafted = ago(days).split()
        assert drafted[0] == "about" and drafted[2] == "months", drafted
        assert _ago(now, now - timedelta(days=days)) == f"{_WORDS.index(drafted[1])} mo ago", days


def test_status_json_is_one_person_a_line(tmp_path: Path) -> None:
    run_demo(tmp_path / "demo", now=NOW)
    out = cli("--config", str(tmp_path / "demo" / "config.toml"), "--state-dir", str(tmp_path / "demo" / "state"),
              "status", "--json")
    people = json.loads(out.stdout)
    lines = out.stdout.splitlines()
    assert len(people) > 10 and lines[0] == "[" and lines[-1] == "]" and len(lines) == len(people) + 2
    assert [json.loads(line.rstrip(",")) for line in lines[1:-1]] == people


# -- the goal streak's month grouping: same answer as converting every timestamp --------------------


def _naive_people_by_month(rows: list[tuple[int, str]], zone: ZoneInfo) -> list[tuple[tuple[int, int], set[int]]]:
    out: dict[tuple[int, int], set[int]] = {}
    for person_id, at in rows:
        local = datetime.strptime(at, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).astimezone(zone)
        out.setdefault((local.year, local.month), set()).add(person_id)
    return sorted(out.items(), reverse=True)


@pytest.mark.parametrize("zone", ["Europe/Berlin", "America/Los_Angeles", "Pacific/Kiritimati", "UTC"])
def test_people_by_month_matches_a_conversion_of_every_row(zone: str) -> None:
    rng = random.Random(zone)
    tz = ZoneInfo(zone)
    ledger = Ledger.memory()
    now = datetime(2026, 11, 20, 10, tzinfo=UTC)
    rows = []
    for n in range(3000):
        # Clustered around local month boundaries, where a wrong cut shows.
        month = now - timedelta(days=rng.randrange(0, 900))
        start = datetime(month.year, month.month, 1, tzinfo=tz).astimezone(UTC)
        at = start + timedelta(minutes=rng.randrange(-36 * 60, 36 * 60))
        if at <= now:
            rows.append((rng.randrange(1, 40), rng.choice(["sent", "met", "received"]), iso(at), n))
    c = raw_sql(ledger)
    with ledger.transaction():
        c.executemany("INSERT INTO people (id, name, created_at) VALUES (?, ?, ?)",
                      [(p, f"P{p}", iso(now)) for p in range(1, 40)])
        c.executemany("INSERT INTO interactions (account, source_id, person_id, channel, at, thread, title) "
                      "VALUES ('a', ?, ?, ?, ?, '', '')", [(str(n), p, ch, at) for p, ch, at, n in rows])
    counted = [(p, at) for p, ch, at, _ in rows if ch in ("sent", "met")]
    assert list(goals._people_by_month(ledger, tz, now)) == _naive_people_by_month(counted, tz)


# -- nudge and the demo ---------------------------------------------------------------------------


def test_nudge_with_a_draft_already_waiting_drafts_nothing_new(tmp_path: Path) -> None:
    result = run_demo(tmp_path / "demo", now=NOW)
    args = ["--config", str(result.config_path), "--state-dir", str(result.state_dir)]
    ledger = session.open_state(result.state_dir)
    waiting = ledger.outbox(states=("drafted",))
    before = len(ledger.outbox())
    ledger.close()
    checkin = next(e for e in waiting if e.kind == "checkin")
    out = CliRunner().invoke(main, [*args, "nudge", checkin.recipient, "--about", "the new guide", "--now", NOW_TEXT])
    assert out.exit_code == 0, out.output
    assert f"a check-in to {checkin.recipient} is already waiting in Drafts (since 2026-11-20)" in out.output
    assert "nothing new drafted" in out.output
    ledger = session.open_state(result.state_dir)
    assert len(ledger.outbox()) == before
    # Someone with no draft waiting does get one: the check above is about the waiting draft.
    busy = {e.person_id for e in ledger.outbox(states=("pending", "drafted"))}
    free = raw_sql(ledger).execute(
        "SELECT a.address FROM addresses a JOIN interactions i ON i.person_id = a.person_id "
        f"WHERE a.person_id NOT IN ({','.join('?' * len(busy))}) AND i.channel = 'sent' LIMIT 1", tuple(busy),
    ).fetchone()[0]
    ledger.close()
    out = CliRunner().invoke(main, [*args, "nudge", free, "--about", "the new guide", "--now", NOW_TEXT])
    assert out.exit_code == 0 and ": drafted in mail" in out.output, out.output


def test_the_demo_counts_every_draft_it_writes_by_kind(tmp_path: Path) -> None:
    out = CliRunner().invoke(main, ["demo", "--dir", str(tmp_path / "demo"), "--now", NOW_TEXT])
    assert out.exit_code == 0, out.output
    files = [p for sub in ("cur", "new") for p in (tmp_path / "demo" / "Mail" / ".Drafts" / sub).iterdir()]
    line = next(ln for ln in out.output.splitlines() if "new draft(s)" in ln)
    counted = re.match(r"(\d+) new draft\(s\) \((.*)\) in ", line)
    assert counted, line
    assert int(counted[1]) == len(files) >= 5
    by_kind = [int(part.split()[0]) for part in counted[2].split(", ")]
    assert sum(by_kind) == len(files) and "introduction ask" in counted[2], line
    again = CliRunner().invoke(main, ["demo", "--dir", str(tmp_path / "demo"), "--now", NOW_TEXT])
    assert f"No new drafts: the {len(files)} from the last run are still waiting" in again.output


def test_the_demo_clock_is_never_ahead_and_never_in_quiet_hours(tmp_path: Path) -> None:
    settings = load_settings(run_demo(tmp_path / "demo", now=NOW).config_path, environ=False)
    for day in (datetime(2026, 3, 29, tzinfo=UTC), datetime(2026, 11, 20, tzinfo=UTC)):  # a DST change, a plain day
        for minutes in range(0, 24 * 60, 10):
            wall = day + timedelta(minutes=minutes, seconds=17, microseconds=5)
            at = demo_now(wall)
            assert at <= wall and wall - at < timedelta(hours=11), (wall, at)
            assert not in_quiet_hours(settings, at), (wall, at)
            assert at.microsecond == 0
    midday = datetime(2026, 11, 20, 12, 34, 56, tzinfo=UTC)
    assert demo_now(midday) == midday  # outside quiet hours: the run's own time


def test_a_config_path_with_a_tilde_is_expanded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # "--config '~/…'" in quotes, or CIRCLEBACK_CONFIG in a unit file, reaches circleback unexpanded
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "cb.toml").write_text('[me]\nname = "A B"\naddresses = ["a@b.example"]\n', encoding="utf-8")
    out = CliRunner().invoke(main, ["--config", "~/cb.toml", "--state-dir", "~/state", "config", "path"])
    assert out.exit_code == 0, out.output
    assert f"config: {tmp_path / 'cb.toml'}" in out.output and f"state:  {tmp_path / 'state'}" in out.output


# -- a run that could not write the drafts it wanted fails, and says so everywhere -------------


def _world_with(tmp_path: Path, drafting: str) -> tuple[Path, Path]:
    world = build_world(tmp_path / "w", anchor=NOW)
    text = world.config_path.read_text()
    assert "[drafting]\n" in text
    world.config_path.write_text(text.replace("[drafting]\n", f"[drafting]\n{drafting}\n", 1))
    return world.config_path, tmp_path / "state"


@pytest.mark.parametrize(("drafting", "why"), [
    ('account = "calendar"', "no account can hold drafts"),  # a calendar cannot hold drafts
    ("templates_dir = \"{templates}\"", "checkin.txt.j2"),  # a broken template of the user's own
], ids=["no drafts account", "broken template"])
def test_a_run_that_wrote_none_of_its_drafts_exits_78_and_status_and_doctor_say_so(
        tmp_path: Path, drafting: str, why: str) -> None:
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "checkin.txt.j2").write_text("Subject: hi\n\n{{ person.no_such_thing }}\n")
    (templates / "linkedin.txt.j2").write_text("Subject: hi\n\n{{ person.no_such_thing }}\n")
    config, state = _world_with(tmp_path, drafting.format(templates=templates))
    out = cli("--config", str(config), "--state-dir", str(state), "run", "--once", "--now", NOW_TEXT)
    assert out.returncode == 78, (out.stdout, out.stderr)
    assert out.stderr.startswith("error: drafts could not be written (") and why in out.stderr, out.stderr
    status = cli("--config", str(config), "--state-dir", str(state), "status")
    assert "Drafts could not be written: " in status.stdout and why in status.stdout, status.stdout
    assert "Drafts waiting for you: 0" in status.stdout
    doctor = cli("--config", str(config), "--state-dir", str(state), "doctor")
    assert doctor.returncode != 0 and "could not write drafts" in doctor.stdout + doctor.stderr


def test_drafts_the_box_refused_are_planned_not_waiting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config, state = _world_with(tmp_path, "")
    monkeypatch.setattr(MaildirConnector, "create_draft", _refuse)
    out = CliRunner().invoke(main, ["--config", str(config), "--state-dir", str(state), "run", "--once",
                                    "--now", NOW_TEXT])
    assert out.exit_code == 75, out.output
    status = cli("--config", str(config), "--state-dir", str(state), "status")
    assert "Drafts waiting for you: 0." in status.stdout, status.stdout
    assert "Planned but not in your Drafts folder yet: " in status.stdout
    assert "could not be written: PermissionError" in status.stdout


def _refuse(self: object, message: bytes, key: str, reply_to: str | None = None) -> object:
    raise PermissionError(13, "Permission denied", "Drafts")


def test_config_check_warns_when_no_draft_could_ever_be_written(tmp_path: Path) -> None:
    mbox = tmp_path / "archive.mbox"
    mbox.write_text("")
    only_mbox = tmp_path / "mbox.toml"
    only_mbox.write_text(ME + f'\n[[accounts]]\nname = "archive"\nkind = "mbox"\npath = "{mbox}"\n')
    out = cli("--config", str(only_mbox), "config", "check")
    assert out.returncode == 0 and "warning: no account can hold drafts" in out.stderr, out.stderr
    config, _ = _world_with(tmp_path, 'account = "calendar"')
    out = cli("--config", str(config), "config", "check")
    assert "warning: [drafting] account = 'calendar' is of kind 'ics', which cannot hold drafts; " \
           "accounts that can: mail" in out.stderr, out.stderr
    fine = cli("--config", str(maildir_config(tmp_path, tmp_path)), "config", "check")
    assert "warning" not in fine.stderr


def test_snooze_has_a_ceiling_and_an_undo(tmp_path: Path) -> None:
    run_demo(tmp_path / "demo", now=NOW)
    base = ["--config", str(tmp_path / "demo" / "config.toml"), "--state-dir", str(tmp_path / "demo" / "state")]
    forever = CliRunner().invoke(main, [*base, "snooze", "Lukas", "100y", "--now", NOW_TEXT])
    assert forever.exit_code == 2 and "at most 2y" in forever.output and "do_not_contact" in forever.output
    assert CliRunner().invoke(main, [*base, "snooze", "Lukas", "30d", "--now", NOW_TEXT]).exit_code == 0
    cleared = CliRunner().invoke(main, [*base, "snooze", "--clear", "Lukas", "--now", NOW_TEXT])
    assert cleared.exit_code == 0 and cleared.output == "Lukas Becker: no longer snoozed.\n"
    again = CliRunner().invoke(main, [*base, "snooze", "--clear", "Lukas", "--now", NOW_TEXT])
    assert again.output == "Lukas Becker was not snoozed.\n"
    missing = CliRunner().invoke(main, [*base, "snooze", "Lukas", "--now", NOW_TEXT])
    assert missing.exit_code == 2 and "--clear to undo" in missing.output


@pytest.mark.parametrize(("address", "name"), [("evelyn.aucoin@x.example", "Evelyn Aucoin"),
                                              ("jsmith1987@x.example", "Their Name")])
def test_the_people_line_status_suggests_names_a_person_not_an_address(
        tmp_path: Path, address: str, name: str) -> None:
    run_demo(tmp_path / "demo", now=NOW)
    base = ["--config", str(tmp_path / "demo" / "config.toml"), "--state-dir", str(tmp_path / "demo" / "state")]
    sent = tmp_path / "demo" / "Mail" / ".Sent" / "cur"
    for n, days in enumerate((400, 300, 200)):  # written to often, long ago: drifting, and not named
        when = NOW - timedelta(days=days)
        (sent / f"{int(when.timestamp())}.old{n}.test:2,S").write_text(
            f"From: alex@morgan.example\nTo: {address}\nSubject: Numbers {n}\n"
            f"Date: {when.strftime('%a, %d %b %Y %H:%M:%S +0000')}\nMessage-ID: <old{n}@x.example>\n\nHi\n")
    assert CliRunner().invoke(main, [*base, "run", "--once", "--now", NOW_TEXT]).exit_code == 0
    out = CliRunner().invoke(main, [*base, "status", "--all", "--now", NOW_TEXT]).output
    listed = out[out.index("drifting but not named"):]
    assert f'name = "{name}"\n  emails = ["{address}"]' in listed


def test_status_and_plan_take_a_pinned_clock(tmp_path: Path) -> None:
    """A world read at a pinned time says who is due then, not by the machine's clock (read_drafts)."""
    run_demo(tmp_path / "demo", now=NOW)
    base = ["--config", str(tmp_path / "demo" / "config.toml"), "--state-dir", str(tmp_path / "demo" / "state")]

    def hannah(when: datetime) -> str:
        out = CliRunner().invoke(main, [*base, "status", "--now", when.isoformat()])
        assert out.exit_code == 0, out.output
        (row,) = [line for line in out.output.splitlines() if "Hannah Schmidt" in line]
        return row

    assert "due in 20d" in hannah(NOW)  # 9 days since, on a 30-day cadence
    assert "due in 10d" in hannah(NOW + timedelta(days=10))
    planned = CliRunner().invoke(main, [*base, "plan", "--now", (NOW + timedelta(days=40)).isoformat()])
    assert planned.exit_code == 0 and "Hannah" in planned.output


def test_plan_in_quiet_hours_previews_what_their_end_will_bring(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    world = build_world(tmp_path / "w", anchor=NOW)
    monkeypatch.setattr("circleback.daemon.cli.root.utcnow", lambda: NOW)
    args = ["--config", str(world.config_path), "--state-dir", str(tmp_path / "state"), "plan", "--sync"]
    awake = CliRunner().invoke(main, args)
    monkeypatch.setenv("CIRCLEBACK_DRAFTING__QUIET_HOURS", "09:00-11:00")  # 10:00 in London
    quiet = CliRunner().invoke(main, args)
    assert quiet.exit_code == 0, quiet.output
    assert quiet.output.startswith("Quiet hours now: nothing is drafted until they end. Then, as things stand:\n")
    assert quiet.output.count("Subject: ") == awake.output.count("Subject: ") > 0
    assert "Due but over this week's budget" not in quiet.output or "over this week's budget" in awake.output


# -- a server certificate that does not verify: a config problem, exit 78 -----------------------------


@pytest.mark.needs_server
def test_a_server_certificate_that_does_not_verify_exits_78_and_ca_file_fixes_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # 75 ("try later") would have cron retry a certificate for ever; only the user can fix it.
    from tests.support.radicale_server import start_radicale  # here: the lines above stay where docs link them
    from tests.support.tls import make_tls_files

    tls = make_tls_files(tmp_path / "tls")
    server = start_radicale(tmp_path, tls=tls)
    monkeypatch.setenv("CB_TEST_DAV_PASSWORD", "not-checked")
    account = (f'\n[[accounts]]\nname = "calendar"\nkind = "caldav"\nurl = "{server.url}"\nusername = "alice"\n'
               'password_env = "CB_TEST_DAV_PASSWORD"\n')
    config, state = tmp_path / "config.toml", tmp_path / "state"
    try:
        config.write_text(ME + account)
        out = cli("--config", str(config), "--state-dir", str(state), "run", "--once")
        assert out.returncode == 78, out.stderr
        assert (f"calendar (caldav): failed: the TLS certificate of 127.0.0.1:{server.port} did not verify: unable "
                "to get local issuer certificate; if the server's certificate comes from your own CA, set ca_file "
                "to that CA's certificate (PEM); otherwise fix the server's certificate\n") in out.stdout
        assert out.stderr == ("error: 1 of 1 account(s) cannot work as configured (calendar; see above); "
                              "nothing was synced\n")
        config.write_text(ME + account + f'ca_file = "{tls.ca}"\n')
        out = cli("--config", str(config), "--state-dir", str(state), "run", "--once")
        assert out.returncode == 0, out.stdout + out.stderr
    finally:
        server.stop()
