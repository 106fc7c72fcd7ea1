"""Config: typed, strict, and every error names the file, the key path and what is allowed."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from datetime import time, timedelta
from pathlib import Path

import pytest

from circleback.daemon.config import load_settings
from circleback.daemon.errors import ConfigError
from tests.support import ROOT

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
            "accounts[0] (\"a\"): kind: must be one of 'maildir', 'mbox', 'ics', 'imap', 'caldav', 'outlook'",
        ),
        ('[[accounts]]\nname = "a"\nkind = "ics"\npth = "x"\n', 'accounts[0] ("a").pth: unknown key'),
        ('[[accounts]]\nname = "a"\nkind = "ics"\n', 'accounts[0] ("a").path: required key is missing'),
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
            '[[people]]\nname = "Maya Patel"\nemails = ["maya@x.org"]\n'
            '[[people]]\nname = "Robert Lee"\nemails = ["rob@x.org", "Maya@x.org"]\n',
            "people[1] (\"Robert Lee\").emails: 'maya@x.org' is already an address of people[0] (Maya Patel)",
        ),
        (
            '[[accounts]]\nname = "a"\nkind = "ics"\npath = "x"\n[[accounts]]\nname = "a"\nkind = "ics"\npath = "y"\n',
            "accounts[1] (\"a\").name: 'a' is already the name of accounts[0]; each account needs its own name",
        ),
        ('[cadence]\ndefault = "15m"\n', 'cadence.default: \'15m\': "m" could mean minutes or months; write "15min"'),
        (
            '[[accounts]]\nname = "a"\nkind = "ics"\npath = "x"\npoll_interval = "15m"\n',
            'accounts[0] ("a").poll_interval: \'15m\': "m" could mean minutes or months; write "15min" for minutes',
        ),
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
    assert len(lines) == 3
    assert any("me.timezne: unknown key (did you mean 'timezone'?)" in ln for ln in lines)
    assert any("drafting.budgt: unknown key (check the spelling" in ln for ln in lines)
    assert any("me.addresses: no address given" in ln for ln in lines)


def test_the_model_and_the_written_config_rules_report_in_one_round(tmp_path: Path) -> None:
    """A bad value, a missing address and a missing templates folder: one error with all three."""
    path = tmp_path / "config.toml"
    path.write_text(f'[me]\nname = "Ada"\n[cadence]\ndefault = "3m"\n'
                    f'[drafting]\ntemplates_dir = "{tmp_path / "tmpl"}"\n', encoding="utf-8")
    assert sorted(load_error(path).splitlines()) == sorted([
        f'{path}: cadence.default: \'3m\': "m" could mean minutes or months; write "3min" for minutes or "3mo" '
        "for months",
        f"{path}: me.addresses: no address given: without the addresses you write from circleback cannot tell "
        'mail you sent from mail you received; add a line like addresses = ["you@example.org"] under [me]',
        f"{path}: drafting.templates_dir: {tmp_path / 'tmpl'} does not exist (create it, or remove the key to use "
        "the built-in templates)",
    ])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[drafting]\nbudget_per_wek = 3\n", "drafting.budget_per_wek: unknown key (did you mean 'budget_per_week'?)"),
        ("[draftng]\nbudget_per_week = 3\n", "draftng: unknown key (did you mean 'drafting'?)"),
        ('[[accounts]]\nname = "m"\nkind = "imap"\nhost = "h"\nusername = "u"\npassword_env = "P"\nfolder = []\n',
         "accounts[0] (\"m\").folder: unknown key (did you mean 'folders'?)"),
        ('[[people]]\nname = "Ann"\ngroups = "friends"\n',
         "people[0] (\"Ann\").groups: unknown key (did you mean 'group'?)"),
    ],
)
def test_an_unknown_key_gets_the_nearest_key_of_its_table(tmp_path: Path, text: str, expected: str) -> None:
    path = write(tmp_path, text)
    assert load_error(path) == f"{path}: {expected}"


def test_toml_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, "[me\nname = 1\n")
    with pytest.raises(ConfigError, match=rf"{path}: not valid TOML: .*line 1"):
        load_settings(path)


def test_missing_file_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(tmp_path / "nope.toml")
    assert str(info.value) == (f"{tmp_path / 'nope.toml'}: no such file (run `circleback config init` to write a "
                               "commented one there, or pass --config FILE)")


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
        "unknown key (did you mean 'people_per_month'?)",
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


ADDRESSES, GROUPS = '["you@example.org"]', '{"friends": "6w"}'


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("CIRCLEBACK_GOALS", "people_per_month=4", """goals: a table is written as JSON, like '{"key": "value"}'"""),
        ("CIRCLEBACK_ME__ADDRESSES", "x@y.org", f"me.addresses: a list is written as JSON, like {ADDRESSES!r}"),
        ("CIRCLEBACK_ME__ADDRESSES", "'bad'", "me.addresses: a list is written as JSON"),
        ("CIRCLEBACK_CADENCE__GROUPS", "{bad", f"cadence.groups: a table is written as JSON, like {GROUPS!r}"),
        ("circleback_filters__ignore_domains", "a.example", "filters.ignore_domains: a list is written as JSON"),
        ("CIRCLEBACK_ACCOUNTS", "home", """accounts: a list is written as JSON, like '[{"key": "value"}]'"""),
    ],
)
def test_unparsable_environment_json_names_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, variable: str, value: str, expected: str
) -> None:
    """pydantic-settings names only the top-level field ("me"): the message names the variable, its value and key."""
    monkeypatch.setenv("CIRCLEBACK_ME__NAME", "Ada")  # a plain string beside it: not JSON, and not to blame
    monkeypatch.setenv(variable, value)
    message = load_error(write(tmp_path, ""), environ=True)
    assert message.startswith(f"environment variable {variable}={value!r}: {expected}")
    assert len(message.splitlines()) == 1 and str(tmp_path) not in message


def test_every_unparsable_variable_is_named_at_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CIRCLEBACK_ME__ADDRESSES", "x@y.org")
    monkeypatch.setenv("CIRCLEBACK_CADENCE__GROUPS", "{bad")
    monkeypatch.setenv("CIRCLEBACK_DRAFTING__QUIET_HOURS", "21:00-07:00")  # a table or a string: fine as it is
    lines = load_error(write(tmp_path, ""), environ=True).splitlines()
    assert [line.split(":")[0] for line in sorted(lines)] == [
        "environment variable CIRCLEBACK_CADENCE__GROUPS='{bad'",
        "environment variable CIRCLEBACK_ME__ADDRESSES='x@y.org'",
    ]


def test_quiet_hours_wrap_midnight(tmp_path: Path) -> None:
    q = load_settings(write(tmp_path, '[drafting]\nquiet_hours = "22:00-07:30"\n')).drafting.quiet_hours
    assert q is not None
    assert q.contains(time(23, 0)) and q.contains(time(3, 0)) and q.contains(time(7, 29))
    assert not q.contains(time(7, 30)) and not q.contains(time(12, 0))


@pytest.mark.parametrize("off", ['"off"', '"OFF"'])
def test_quiet_hours_can_be_turned_off_in_the_file_and_the_environment(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, off: str) -> None:
    assert load_settings(write(tmp_path, f'[drafting]\nquiet_hours = {off}\n')).drafting.quiet_hours is None
    monkeypatch.setenv("CIRCLEBACK_DRAFTING__QUIET_HOURS", "off")
    assert load_settings(write(tmp_path, '[drafting]\nquiet_hours = "21:00-07:00"\n'),
                         environ=True).drafting.quiet_hours is None


def test_an_undeclared_group_is_a_label_with_one_warning_and_a_typo_gets_a_suggestion(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    groups = '[cadence]\ngroups = { friends = "6w", work = "monthly" }\nweights = { wrok = 2.0 }\n'
    people = "".join(f'[[people]]\nname = "{n}"\ngroup = "{g}"\n' for n, g in
                     [("Ann", "frends"), ("Bo", "climbing"), ("Cy", "climbing"), ("Di", "friends")])
    path = write(tmp_path, groups + '[drafting]\nlinkedin_groups = ["climbing"]\n' + people)
    with caplog.at_level(logging.WARNING, logger="circleback.daemon.config"):
        settings = load_settings(path, environ=False)
    assert [p.group for p in settings.people] == ["frends", "climbing", "climbing", "friends"]
    known = "declared: friends, work"
    assert sorted(r.getMessage() for r in caplog.records if r.levelno == logging.WARNING) == sorted([
        f"{path}: people[0] (\"Ann\").group: 'frends' is not declared in [cadence] groups (did you mean 'friends'?), "
        f"so it is a label on the default cadence; {known}",
        f"{path}: cadence.weights.wrok: 'wrok' is not declared in [cadence] groups (did you mean 'work'?), "
        f"so it is a label on the default cadence; {known}",
        f"{path}: people[1] (\"Bo\").group: 'climbing' is not declared in [cadence] groups, "
        f"so it is a label on the default cadence (named at 2 more keys too); {known}",
    ])
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="circleback.daemon.config"):
        load_settings(write(tmp_path, groups.replace("wrok", "work") + '[[people]]\nname = "Di"\ngroup = "work"\n'),
                      environ=False)
    assert caplog.records == []  # declared groups: nothing to say


def test_config_check_prints_the_warning_and_passes(tmp_path: Path) -> None:
    path = write(tmp_path, '[[people]]\nname = "Bo"\ngroup = "climbing"\n')
    command = [sys.executable, "-m", "circleback.daemon.cli", "--config", str(path), "config", "check"]
    out = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stderr.splitlines() == [
        f"WARNING circleback.daemon.config: {path}: people[0] (\"Bo\").group: 'climbing' is not declared in "
        "[cadence] groups, so it is a label on the default cadence; declared: (none)"
    ]
    assert f"{path}: ok" in out.stdout


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
    with pytest.raises(ConfigError, match=r"accounts\[0\] \(\"m\"\): password: not accepted in the config file"):
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


@pytest.mark.parametrize("variable", ["CIRCLEBACK_ACCOUNTS__0__POLL_INTERVAL", "CIRCLEBACK_PEOPLE__0__NOTE"])
def test_accounts_and_people_cannot_be_set_from_the_environment_and_it_is_said_so(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, variable: str) -> None:
    monkeypatch.setenv(variable, "90s")
    message = load_error(write(tmp_path, ""), environ=True)
    assert message == (f"environment variable {variable}: one key of [[accounts]] or [[people]] cannot be set from the "
                       "environment (each is a list of tables); set it in the config file")


def test_config_check_names_the_active_overrides(tmp_path: Path) -> None:
    path = write(tmp_path, "")
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("CIRCLEBACK_")},
           "CIRCLEBACK_DRAFTING__BUDGET_PER_WEEK": "3"}
    out = subprocess.run([sys.executable, "-m", "circleback.daemon.cli", "--config", str(path), "config", "check"],
                         capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "overridden by the environment: drafting.budget_per_week = '3' (CIRCLEBACK_DRAFTING__BUDGET_PER_WEEK)" \
        in out.stdout


def test_a_reload_says_what_changed_by_name_and_key_never_by_value() -> None:
    from circleback.daemon.config import Settings, what_changed

    me = {"name": "Alex", "addresses": ["alex@x.org"]}
    old = Settings.model_validate({
        "me": me,
        "accounts": [{"name": "home", "kind": "maildir", "path": "/m"},
                     {"name": "old", "kind": "ics", "path": "/c"}],
        "people": [{"name": "Ann Lee", "emails": ["ann@x.org"], "note": "lost her job in March"}],
    })
    new = Settings.model_validate({
        "me": me,
        "accounts": [{"name": "home", "kind": "maildir", "path": "/m", "poll_interval": "90s"},
                     {"name": "cal", "kind": "ics", "path": "/c2"}],
        "people": [{"name": "Ann Lee", "emails": ["ann@x.org"], "note": "the best editor I know"},
                   {"name": "Bo Chen", "emails": ["bo@x.org"]}],
        "drafting": {"budget_per_week": 3},
    })
    said = what_changed(old, new)
    assert said == ("accounts: added cal; removed old; changed home (poll_interval); "
                    "people: added Bo Chen; changed Ann Lee (note); drafting (budget_per_week)")
    assert "job" not in said and "editor" not in said and "90" not in said
    assert what_changed(new, new) == "no setting changed"


def test_ca_file_is_a_readable_pem_file_named_by_its_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n", encoding="ascii")
    imap = '[[accounts]]\nname = "m"\nkind = "imap"\nhost = "imap.example.org"\nusername = "me"\npassword_env = "P"\n'
    caldav = '[[accounts]]\nname = "c"\nkind = "caldav"\nurl = "https://dav.example.org/"\n'
    ok = load_settings(write(tmp_path, imap + 'ca_file = "~/ca.pem"\n' + caldav + 'ca_file = "~/ca.pem"\n'),
                       environ=False)
    assert [a.ca_file for a in ok.accounts] == [str(ca), str(ca)]  # ~ expanded

    missing = write(tmp_path, imap + 'ca_file = "~/nope.pem"\n')
    assert load_error(missing) == (f'{missing}: accounts[0] ("m").ca_file: {tmp_path / "nope.pem"} does '
                                   "not exist (a PEM file of the CA certificates to trust for this server)")
    (tmp_path / "not-pem.txt").write_text("hello", encoding="ascii")
    garbage = write(tmp_path, caldav + 'ca_file = "~/not-pem.txt"\n')
    assert 'accounts[0] ("c").ca_file: ' in load_error(garbage)
    assert "holds no PEM certificate" in load_error(garbage)
    folder = write(tmp_path, caldav + f'ca_file = "{tmp_path}"\n')
    assert f'accounts[0] ("c").ca_file: {tmp_path} is not a file' in load_error(folder)
    if os.geteuid() != 0:  # root reads any file
        ca.chmod(0)
        assert "cannot be read" in load_error(write(tmp_path, imap + 'ca_file = "~/ca.pem"\n'))
        ca.chmod(0o644)
    unchecked = write(tmp_path, caldav + 'ca_file = "~/ca.pem"\nverify_tls = false\n')
    assert "ca_file is set but verify_tls = false" in load_error(unchecked)
    clear = write(tmp_path, imap.replace("imap.example.org", "127.0.0.1") + 'security = "none"\nca_file = "~/ca.pem"\n')
    assert "ca_file is for TLS" in load_error(clear)
