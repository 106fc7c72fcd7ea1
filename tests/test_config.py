"""Config: typed, strict, and every error names the file, the key path and what is allowed."""

from __future__ import annotations

from datetime import time, timedelta
from pathlib import Path

import pytest

from circleback.daemon.config import load_settings
from circleback.daemon.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]
ME = '[me]\naddresses = ["me@example.org"]\n'


def write(tmp_path: Path, text: str) -> Path:
    """A config file of ``text``; a [me] table with an address first when ``text`` has none (it is required)."""
    path = tmp_path / "config.toml"
    path.write_text(text if "[me" in text else ME + text, encoding="utf-8")
    return path


def load_error(path: Path, *, environ: bool = False) -> str:
    with pytest.raises(ConfigError) as info:
        load_settings(path, environ=environ)
    return str(info.value)


def test_example_config_is_valid_and_documented() -> None:
    settings = load_settings(ROOT / "config.example.toml", environ=False)
    assert [a.kind for a in settings.accounts] == ["maildir", "ics"]
    assert settings.cadence.groups["family"] == timedelta(days=14)
    assert settings.drafting.quiet_hours is not None
    assert settings.drafting.quiet_hours.start == time(21, 0)
    assert settings.people[0].emails == ["priya@example.com", "priya.raman@acme.example"]


def test_the_shapes_scripts_rely_on(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
[me]
name = "Ada"
addresses = ["Ada@Example.org"]
[sync]
lookback = "3y"
[[accounts]]
name = "home"
kind = "maildir"
path = "~/Mail"
[[accounts]]
name = "old"
kind = "mbox"
path = "/srv/mail.mbox"
[[accounts]]
name = "cal"
kind = "ics"
path = "~/.calendars/personal"
""",
    )
    s = load_settings(path, environ=False)
    assert s.me.addresses == ["ada@example.org"]
    assert s.sync.lookback == timedelta(days=3 * 365)
    assert s.accounts[0].path == str(Path("~/Mail").expanduser())
    assert [a.kind for a in s.accounts] == ["maildir", "mbox", "ics"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            '[[accounts]]\nname = "a"\nkind = "gmial"\npath = "x"\n',
            "accounts[0]: kind: must be one of 'maildir', 'mbox', 'ics', 'imap', 'caldav', 'outlook'",
        ),
        ('[[accounts]]\nname = "a"\nkind = "ics"\npth = "x"\n', "accounts[0].pth: unknown key"),
        ('[[accounts]]\nname = "a"\nkind = "ics"\n', "accounts[0].path: required key is missing"),
        ('[cadence]\ndefault = "6x"\n', "cadence.default: '6x' is not a duration"),
        (
            '[drafting]\nquiet_hours = "9pm-7am"\n',
            "drafting.quiet_hours: '9pm-7am': write quiet hours as \"HH:MM-HH:MM\"",
        ),
        ('[me]\ntimezone = "Mars/Olympus"\n', "me.timezone: unknown time zone 'Mars/Olympus'"),
        ('[me]\naddresses = ["not-an-address"]\n', "me.addresses: 'not-an-address' is not an email address"),
        ("[drafting]\nbudget_per_week = -1\n", "drafting.budget_per_week:"),
        ('[[people]]\ngroup = "friends"\n', "people[0]: a person needs a name or at least one address"),
        ('[drafting]\naccount = "nope"\n', "drafting.account: 'nope' names no account; known: (none)"),
        (
            '[[accounts]]\nname = "a"\nkind = "ics"\npath = "x"\n[[accounts]]\nname = "a"\nkind = "ics"\npath = "y"\n',
            "accounts[1].name: 'a' is already the name of accounts[0]; each account needs its own name",
        ),
        ('[cadence]\ndefault = "15m"\n', 'cadence.default: \'15m\': "m" could mean minutes or months; write "15min"'),
    ],
)
def test_errors_name_file_key_and_what_is_allowed(tmp_path: Path, text: str, expected: str) -> None:
    path = write(tmp_path, text)
    message = load_error(path)
    assert message.startswith(f"{path}: ")
    assert expected in message


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    path = write(tmp_path, '[me]\ntimezne = "UTC"\n[drafting]\nbudgt = 3\n')
    with pytest.raises(ConfigError) as info:
        load_settings(path, environ=False)
    lines = str(info.value).splitlines()
    assert len(lines) == 2
    assert any("me.timezne: unknown key" in ln for ln in lines)
    assert any("drafting.budgt: unknown key" in ln for ln in lines)


def test_toml_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, "[me\nname = 1\n")
    with pytest.raises(ConfigError, match=rf"{path}: not valid TOML: .*line 1"):
        load_settings(path)


def test_missing_file_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file .*config.example.toml"):
        load_settings(tmp_path / "nope.toml")


def test_environment_overrides_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, "[drafting]\nbudget_per_week = 7\n")
    monkeypatch.setenv("CIRCLEBACK_DRAFTING__BUDGET_PER_WEEK", "2")
    assert load_settings(path).drafting.budget_per_week == 2
    assert load_settings(path, environ=False).drafting.budget_per_week == 7


def test_environment_errors_name_the_variable_and_its_value_not_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path, "[drafting]\nbudget = 3\n")
    monkeypatch.setenv("CIRCLEBACK_DRAFTING__BUDGET_PER_WEEK", "lots")
    monkeypatch.setenv("circleback_goals__people_per_mnth", "4")
    lines = load_error(path, environ=True).splitlines()
    assert sorted(lines) == sorted([
        "environment variable CIRCLEBACK_DRAFTING__BUDGET_PER_WEEK='lots': drafting.budget_per_week: "
        "Input should be a valid integer, unable to parse string as an integer",
        "environment variable circleback_goals__people_per_mnth='4': goals.people_per_mnth: "
        "unknown key (check the spelling against config.example.toml)",
        f"{path}: drafting.budget: unknown key (check the spelling against config.example.toml)",  # the file's own
    ])


def test_a_table_from_the_environment_is_blamed_only_for_its_own_keys(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path, '[me]\naddresses = ["a@example.org"]\ntimezone = "Mars/Olympus"\n')
    monkeypatch.setenv("CIRCLEBACK_ME", '{"addresses": ["not-an-address"]}')
    lines = load_error(path, environ=True).splitlines()
    assert sorted(lines) == sorted([
        """environment variable CIRCLEBACK_ME='{"addresses": ["not-an-address"]}': me.addresses: """
        "'not-an-address' is not an email address",
        f"{path}: me.timezone: unknown time zone 'Mars/Olympus': use an IANA name like 'Europe/Berlin'",
    ])


def test_load_time_rules_name_the_variable_that_broke_them(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CIRCLEBACK_DRAFTING__TEMPLATES_DIR", str(tmp_path / "nowhere"))
    assert load_error(write(tmp_path, ""), environ=True) == (
        f"environment variable CIRCLEBACK_DRAFTING__TEMPLATES_DIR='{tmp_path / 'nowhere'}': drafting.templates_dir: "
        f"{tmp_path / 'nowhere'} does not exist (create it, or remove the key to use the built-in templates)"
    )


def test_environment_tables_merge_key_by_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A whole table as JSON, one key of another, any case: the file keeps what they do not name."""
    path = write(tmp_path, '[drafting]\nbudget_per_week = 7\nwithdraw_stale = true\n[goals]\npeople_per_month = 4\n')
    monkeypatch.setenv("circleback_drafting__budget_per_week", "2")
    monkeypatch.setenv("CIRCLEBACK_ME", '{"addresses": ["Me@Example.org"]}')
    s = load_settings(path)
    assert (s.drafting.budget_per_week, s.drafting.withdraw_stale) == (2, True)
    assert s.me.addresses == ["me@example.org"] and s.goals.people_per_month == 4


def test_the_clis_own_variables_are_not_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CIRCLEBACK_CONFIG", str(tmp_path / "elsewhere.toml"))
    monkeypatch.setenv("CIRCLEBACK_STATE_DIR", str(tmp_path))
    assert load_settings(write(tmp_path, "[goals]\npeople_per_month = 4\n")).goals.people_per_month == 4


def test_unparsable_environment_json_names_the_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CIRCLEBACK_GOALS", "people_per_month=4")  # a table must be JSON
    message = load_error(write(tmp_path, ""), environ=True)
    assert message.startswith("environment variable CIRCLEBACK_GOALS='people_per_month=4': goals: not valid JSON;")
    assert str(tmp_path) not in message


def test_quiet_hours_wrap_midnight(tmp_path: Path) -> None:
    q = load_settings(write(tmp_path, '[drafting]\nquiet_hours = "22:00-07:30"\n')).drafting.quiet_hours
    assert q is not None
    assert q.contains(time(23, 0)) and q.contains(time(3, 0)) and q.contains(time(7, 29))
    assert not q.contains(time(7, 30)) and not q.contains(time(12, 0))


def test_a_group_must_be_declared_and_a_typo_gets_a_suggestion(tmp_path: Path) -> None:
    groups = '[cadence]\ngroups = { friends = "6w", work = "monthly" }\n'
    ok = write(tmp_path, groups + '[[people]]\nname = "Ann"\ngroup = "friends"\n')
    assert load_settings(ok, environ=False).people[0].group == "friends"
    path = write(tmp_path, groups.replace("}", "}\nweights = { wrok = 2.0 }")
                 + '[drafting]\nlinkedin_groups = ["mentors"]\n[[people]]\nname = "Ann"\ngroup = "frends"\n')
    known = "groups are the keys of [cadence] groups, now: friends, work"
    assert sorted(load_error(path).splitlines()) == sorted([
        f"{path}: people[0].group: 'frends' is not a group (did you mean 'friends'?); {known}",
        f"{path}: cadence.weights.wrok: 'wrok' is not a group (did you mean 'work'?); {known}",
        f"{path}: drafting.linkedin_groups[0]: 'mentors' is not a group; {known}",
    ])


@pytest.mark.parametrize("me", ['[me]\nname = "Ada"\n', '[me]\naddresses = []\n', ""])
def test_the_users_own_addresses_are_required(tmp_path: Path, me: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(me + "[goals]\npeople_per_month = 4\n", encoding="utf-8")
    assert load_error(path) == (
        f"{path}: me.addresses: no address given: without the addresses you write from circleback cannot tell "
        'mail you sent from mail you received; add a line like addresses = ["you@example.org"] under [me]'
    )


def test_templates_dir_must_be_a_folder(tmp_path: Path) -> None:
    folder = tmp_path / "templates"
    folder.mkdir()
    assert load_settings(write(tmp_path, f'[drafting]\ntemplates_dir = "{folder}"\n'), environ=False)
    missing = write(tmp_path, f'[drafting]\ntemplates_dir = "{tmp_path / "tmpl"}"\n')
    assert load_error(missing) == (f"{missing}: drafting.templates_dir: {tmp_path / 'tmpl'} does not exist "
                                   "(create it, or remove the key to use the built-in templates)")
    (folder / "checkin.txt.j2").touch()
    a_file = write(tmp_path, f'[drafting]\ntemplates_dir = "{folder / "checkin.txt.j2"}"\n')
    assert f"drafting.templates_dir: {folder / 'checkin.txt.j2'} is not a folder" in load_error(a_file)


def test_imap_and_caldav_accounts_keep_passwords_out_of_the_file(tmp_path: Path) -> None:
    ok = load_settings(write(tmp_path, """
[[accounts]]
name = "fastmail"
kind = "imap"
host = "imap.fastmail.com"
username = "me@fastmail.com"
password_command = "pass show mail/fastmail"
[[accounts]]
name = "nextcloud"
kind = "caldav"
url = "https://cloud.example.org/remote.php/dav"
username = "me"
password_env = "NEXTCLOUD_PASSWORD"
"""), environ=False)
    assert ok.accounts[0].effective_port == 993
    bad = write(tmp_path, '[[accounts]]\nname = "m"\nkind = "imap"\nhost = "imap.example.org"\n'
                          'username = "me"\npassword = "hunter2"\n')
    with pytest.raises(ConfigError, match=r"accounts\[0\]: password: not accepted in the config file"):
        load_settings(bad, environ=False)
    clear = write(tmp_path, '[[accounts]]\nname = "m"\nkind = "imap"\nhost = "imap.example.org"\n'
                            'username = "me"\npassword_env = "P"\nsecurity = "none"\n')
    with pytest.raises(ConfigError, match="clear text to imap.example.org"):
        load_settings(clear, environ=False)


def test_the_example_config_documents_every_key() -> None:
    """Every settings key and every account kind's keys appear in config.example.toml."""
    import re
    import typing

    from pydantic import BaseModel

    from circleback.daemon import config as cfg

    text = (ROOT / "config.example.toml").read_text(encoding="utf-8")
    written = set(re.findall(r"^\s*#?\s*\[*([a-z_]+)\]*\s*=?", text, flags=re.MULTILINE))
    written |= set(re.findall(r"\b([a-z_]+)\s*=", text))
    written |= set(re.findall(r"^\s*#?\s*\[\[?([a-z_.]+)\]\]?", text, flags=re.MULTILINE))
    written |= {part for name in list(written) for part in name.split(".")}

    def models(tp: object) -> list[type[BaseModel]]:
        found = []
        for arg in typing.get_args(tp) or (tp,):
            if isinstance(arg, type) and issubclass(arg, BaseModel):
                found.append(arg)
            elif typing.get_args(arg):
                found += models(arg)
        return found

    missing = set()
    seen: set[type] = set()
    todo: list[type[BaseModel]] = [cfg.Settings]
    while todo:
        model = todo.pop()
        if model in seen:
            continue
        seen.add(model)
        for name, field in model.model_fields.items():
            if name not in written:
                missing.add(f"{model.__name__}.{name}")
            todo += models(field.annotation)
    assert not missing, f"config.example.toml does not mention: {sorted(missing)}"
