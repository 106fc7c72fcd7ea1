"""Typed settings from one TOML file, with CIRCLEBACK_ environment overrides.

Every error names the file (or the environment variable and its value), the key path and
what is allowed (STYLE.md #6).
Account kinds form a discriminated union on ``kind``; a later connector adds
its own model to ``AccountConfig`` and its class to ``connectors/registry.py``.
"""

from __future__ import annotations

import ipaddress
import os
import re
import shlex
import tomllib
from datetime import time, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal, NamedTuple
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .durations import Duration, PollInterval
from .errors import ConfigError


class KeyProblem(ValueError):
    """A problem a validator finds at a key below its own table: pydantic alone would report the table.

    ``loc`` is relative to the model whose validator raises it, like pydantic's own ``loc``.
    """

    def __init__(self, loc: tuple[str | int, ...], message: str) -> None:
        super().__init__(message)
        self.loc = loc


class _Strict(BaseModel):
    """A config table: unknown keys are errors, values are frozen.

    Validators are built on first use (``defer_build``), so ``Settings`` builds the lot in one
    pass at load rather than every class its own at import. List and dict defaults are plain
    ``[]`` and ``{}`` (pydantic copies them per instance): ``default_factory=list`` has pydantic
    parse ``list``'s text signature, some milliseconds over all the fields. Both for
    ``status_startup_ms`` (benchmarks/core.py).
    """

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


def _expand(path: str) -> str:
    return os.path.expandvars(os.path.expanduser(path))


class Me(_Strict):
    name: str = ""
    addresses: list[str] = []
    signature: str = ""
    timezone: str = "UTC"

    @field_validator("addresses")
    @classmethod
    def _lower(cls, v: list[str]) -> list[str]:
        for a in v:
            if "@" not in a:
                raise ValueError(f"{a!r} is not an email address")
        return [a.strip().lower() for a in v]

    @field_validator("timezone")
    @classmethod
    def _zone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {v!r}: use an IANA name like 'Europe/Berlin'") from None
        return v

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class SyncSettings(_Strict):
    lookback: Duration = timedelta(days=3 * 365)  # how far back a first sync reads
    lookahead: Duration = timedelta(days=60)  # how far ahead calendars are read


class _Account(_Strict):
    name: Annotated[str, Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")]
    poll_interval: PollInterval | None = None  # how often `circleback run` polls it: "90s", "15min", "1h"


class _LocalAccount(_Account):
    """An account on this machine's disk; ``~`` and ``$VARS`` in its path are expanded."""

    path: str

    @field_validator("path")
    @classmethod
    def _path(cls, v: str) -> str:
        return _expand(v)


class MaildirAccount(_LocalAccount):
    kind: Literal["maildir"]
    drafts_folder: str = "Drafts"
    sent_folders: list[str] = Field(default_factory=lambda: ["Sent", "Sent Items", "Sent Messages"])
    skip_folders: list[str] = Field(default_factory=lambda: ["Junk", "Spam", "Trash", "Deleted Items"])


class MboxAccount(_LocalAccount):
    kind: Literal["mbox"]  # path: one mbox file or a folder of them
    sent_files: list[str] = Field(default_factory=lambda: ["Sent", "sent", "sent_items", "Sent Mail"])


class IcsAccount(_LocalAccount):
    kind: Literal["ics"]  # path: a folder of .ics files (vdirsyncer) or one file


class PasswordSource(_Strict):
    """Where a password comes from: never the config file itself."""

    password_command: str | None = None  # e.g. "pass show mail/fastmail": first line of its output
    password_env: str | None = None  # name of an environment variable
    credential: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.@-]+$")] | None = None  # systemd LoadCredential=

    @model_validator(mode="before")
    @classmethod
    def _no_plain_password(cls, data: Any) -> Any:
        if isinstance(data, dict):
            if "password" in data:
                raise ValueError(
                    "password: not accepted in the config file; use password_command "
                    '(e.g. "pass show mail/example"), password_env or credential'
                )
            data = {k: (None if k in _SOURCES and v == "" else v) for k, v in data.items()}
        return data

    @field_validator("password_command")
    @classmethod
    def _command(cls, v: str | None) -> str | None:
        if v is not None and not shlex.split(v):
            raise ValueError("password_command is empty")
        return v

    @property
    def password_sources(self) -> list[str]:
        return [k for k in _SOURCES if getattr(self, k)]


_SOURCES = ("password_command", "password_env", "credential")
_LOOPBACK_NAMES = {"localhost"}


def _is_loopback(host: str) -> bool:
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class ImapAccount(_Account, PasswordSource):
    kind: Literal["imap"]
    host: Annotated[str, Field(min_length=1)]
    port: Annotated[int, Field(ge=1, le=65535)] | None = None  # 993 for ssl, 143 otherwise
    security: Literal["ssl", "starttls", "none"] = "ssl"
    username: Annotated[str, Field(min_length=1)]
    folders: list[str] | None = None  # None: every folder except Junk, Trash and Drafts
    sent_folder: str = "Sent"  # when the server marks no folder \Sent (RFC 6154)
    drafts_folder: str = "Drafts"  # when the server marks no folder \Drafts
    timeout: Annotated[float, Field(gt=0, le=600)] = 60.0  # seconds per network read

    @model_validator(mode="after")
    def _consistent(self) -> ImapAccount:
        if len(self.password_sources) != 1:
            raise ValueError("set exactly one of password_command, password_env, credential")
        if self.security == "none" and not _is_loopback(self.host):
            raise ValueError(
                f"security = 'none' would send the password in clear text to {self.host}; "
                "it is only allowed for 127.0.0.1, ::1 or localhost (use 'ssl' or 'starttls')"
            )
        return self

    @property
    def effective_port(self) -> int:
        return self.port or (993 if self.security == "ssl" else 143)


class CalDavAccount(_Account, PasswordSource):
    kind: Literal["caldav"] = "caldav"
    url: str  # the server root or the principal URL
    username: str = ""
    calendars: list[str] | None = None  # display names or URLs; None = every event calendar
    verify_tls: bool = True

    @model_validator(mode="after")
    def _one_password_source(self) -> CalDavAccount:
        given = self.password_sources
        if len(given) > 1:
            raise ValueError(f"give only one of password_command, password_env, credential (got {given})")
        if given and not self.username:
            raise ValueError(f"{given[0]} is set but username is empty")
        return self


GRAPH_ENDPOINT = "https://graph.microsoft.com/v1.0"
LOGIN_HOST = "https://login.microsoftonline.com"
_TENANT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.-]*$")
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def _endpoint_url(v: str, what: str) -> str:
    """An API endpoint: https, or plain http only on loopback (the tests' fake servers)."""
    parts = urlsplit(v)
    if parts.scheme == "https" or (parts.scheme == "http" and _is_loopback(parts.hostname or "")):
        return v.rstrip("/")
    raise ValueError(f"{v!r}: {what} is reached over https (plain http only on 127.0.0.1 or localhost)")


class OutlookAccount(_Account):
    """Microsoft 365 or Outlook.com over Graph; sign in with `circleback auth microsoft NAME`."""

    kind: Literal["outlook"] = "outlook"
    client_id: str  # "Application (client) ID" of the user's own app registration
    # "organizations" (work/school), "consumers" (outlook.com), "common", a tenant id or domain.
    authority: str = "organizations"
    token_cache: str | None = None  # None: <state dir>/tokens/microsoft-<name>.json
    graph_endpoint: str = GRAPH_ENDPOINT  # tests point this at a loopback fake
    page_size: Annotated[int, Field(ge=1, le=1000)] = 250  # Prefer: odata.maxpagesize
    # Well-known folder names (Graph's junkemail, deleteditems, drafts, outbox) or display names.
    skip_folders: list[str] = Field(default_factory=lambda: ["junkemail", "deleteditems", "drafts", "outbox"])
    calendar_lookahead: Duration | None = None  # None: [sync] lookahead

    @field_validator("client_id")
    @classmethod
    def _client_id(cls, v: str) -> str:
        if not _GUID.match(v.strip()):
            raise ValueError(f"{v!r} is not an application (client) id like 00000000-0000-0000-0000-000000000000")
        return v.strip()

    @field_validator("authority")
    @classmethod
    def _authority(cls, v: str) -> str:
        if v.startswith("https://") or _TENANT.match(v):
            return v.rstrip("/")
        raise ValueError(f"{v!r}: use 'organizations', 'consumers', 'common', a tenant id or domain, or an https URL")

    @field_validator("graph_endpoint")
    @classmethod
    def _endpoint(cls, v: str) -> str:
        return _endpoint_url(v, "Graph")

    @property
    def authority_url(self) -> str:
        return self.authority if self.authority.startswith("https://") else f"{LOGIN_HOST}/{self.authority}"

    @property
    def lookahead(self) -> timedelta | None:
        return self.calendar_lookahead



TOKEN_URI = "https://oauth2.googleapis.com/token"  # noqa: S105 - a URL, not a secret

# Units per call (developers.google.com/workspace/gmail/api/reference/quota, PROVIDERS.md).
# A 2026 table reports messages.get 20 and threads.get 40: the config may override these.
DEFAULT_COSTS: dict[str, int] = {
    "messages.list": 5,
    "messages.get": 5,
    "threads.get": 10,
    "history.list": 2,
    "drafts.create": 10,
    "drafts.list": 5,
    "drafts.get": 5,
    "getProfile": 1,
    "events.list": 1,  # Calendar counts requests (600/min/user), not units
}
PER_USER_UNITS = 6000  # per minute, Cloud projects created from 1 May 2026 (earlier: 15,000)
PER_PROJECT_UNITS = 1_200_000  # per minute


class _GoogleAccount(_Account):
    client_secrets: str  # the user's own "Desktop app" OAuth client JSON (README: Google accounts)
    token_path: str | None = None  # None: <state dir>/tokens/google-<name>.json
    quota_per_minute: Annotated[int, Field(gt=0)] = PER_USER_UNITS
    project_quota_per_minute: Annotated[int, Field(gt=0)] = PER_PROJECT_UNITS
    api_endpoint: str | None = None  # tests and benchmarks: a loopback fake
    # from_authorized_user_info always resets token_uri to Google's; tests point it at the fake.
    token_uri: str = TOKEN_URI
    costs: dict[str, Annotated[int, Field(ge=0)]] = {}  # overrides DEFAULT_COSTS
    concurrency: Annotated[int, Field(ge=1, le=16)] = 4  # parallel batch requests in a first sync

    @field_validator("api_endpoint", "token_uri")
    @classmethod
    def _endpoint(cls, v: str | None) -> str | None:
        if v is None:
            return v
        _endpoint_url(v, "Google")
        return v if v.endswith("/") or v.endswith("/token") else v + "/"

    @field_validator("costs")
    @classmethod
    def _known_costs(cls, v: dict[str, int]) -> dict[str, int]:
        unknown = sorted(set(v) - set(DEFAULT_COSTS))
        if unknown:
            raise ValueError(f"unknown method(s) {unknown}; known: {sorted(DEFAULT_COSTS)}")
        return v

    def cost(self, method: str) -> int:
        return self.costs.get(method, DEFAULT_COSTS[method])


class GmailAccount(_GoogleAccount):
    """One ``[[accounts]]`` entry of kind ``gmail``: mail headers and drafts."""

    kind: Literal["gmail"] = "gmail"
    full_sync_chunk: Annotated[int, Field(ge=50)] = 5000  # messages per sync call of a first sync


class GoogleCalendarAccount(_GoogleAccount):
    """One ``[[accounts]]`` entry of kind ``google_calendar``."""

    kind: Literal["google_calendar"] = "google_calendar"
    calendars: list[str] = Field(default_factory=lambda: ["primary"], min_length=1)  # calendar ids
    # Calendar counts requests, not units: 600 a minute per user (PROVIDERS.md).
    quota_per_minute: Annotated[int, Field(gt=0)] = 600


AccountConfig = Annotated[
    MaildirAccount
    | MboxAccount
    | IcsAccount
    | ImapAccount
    | CalDavAccount
    | OutlookAccount
    | GmailAccount
    | GoogleCalendarAccount,
    Field(discriminator="kind"),
]
ACCOUNT_KINDS = ("maildir", "mbox", "ics", "imap", "caldav", "outlook", "gmail", "google_calendar")


class Cadence(_Strict):
    default: Duration = timedelta(days=91)
    groups: dict[str, Duration] = {}
    weights: dict[str, float] = {}  # priority weight per group (default 1)


class Person(_Strict):
    name: str = ""
    emails: list[str] = []
    group: str = ""
    cadence: Duration | None = None
    note: str = ""  # what I value in them: the best hook a draft can have
    tags: list[str] = []
    company: str = ""
    title: str = ""
    linkedin: str = ""
    offers: list[str] = []
    seeks: list[str] = []
    keep_apart: list[str] = []
    do_not_contact: bool = False

    @field_validator("emails")
    @classmethod
    def _lower(cls, v: list[str]) -> list[str]:
        for a in v:
            if "@" not in a:
                raise ValueError(f"{a!r} is not an email address")
        return [a.strip().lower() for a in v]

    @model_validator(mode="after")
    def _named(self) -> Person:
        if not self.emails and not self.name:
            raise ValueError("a person needs a name or at least one address in 'emails'")
        return self


class Filters(_Strict):
    ignore_domains: list[str] = []
    ignore_addresses: list[str] = []
    max_thread_size: int = Field(default=10, ge=2)  # participants on a message
    max_meeting_size: int = Field(default=8, ge=2)  # attendees, rooms excluded


_HHMM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


class QuietHours(_Strict):
    start: time
    end: time

    def contains(self, t: time) -> bool:
        if self.start == self.end:
            return False
        if self.start < self.end:
            return self.start <= t < self.end
        return t >= self.start or t < self.end


def _parse_quiet(value: Any) -> Any:
    if isinstance(value, str):
        parts = value.split("-")
        if len(parts) != 2 or not all(_HHMM.match(p.strip()) for p in parts):
            raise ValueError(f'{value!r}: write quiet hours as "HH:MM-HH:MM", like "21:00-08:00"')
        a, b = (time.fromisoformat(p.strip().zfill(5)) for p in parts)
        return {"start": a, "end": b}
    return value


class Drafting(_Strict):
    budget_per_week: int = Field(default=5, ge=0)
    quiet_hours: QuietHours | None = None
    templates_dir: str | None = None
    account: str | None = None  # where drafts go; default: the first account that holds drafts
    cooldown: Duration = timedelta(days=60)  # after the user deletes one of our drafts
    upcoming_window: Duration = timedelta(days=14)  # a meeting this soon makes a nudge moot
    # Remove our untouched draft when the person wrote first (needs a box with delete_draft).
    withdraw_stale: bool = False
    reconnect_after: Duration = timedelta(days=365)  # silence this long: a LinkedIn-style note
    linkedin_groups: list[str] = []  # groups that always get that style
    linkedin_limit: Literal[200, 300] = 300  # body characters; 200 fits a free LinkedIn account

    _quiet = field_validator("quiet_hours", mode="before")(_parse_quiet)

    @field_validator("templates_dir")
    @classmethod
    def _path(cls, v: str | None) -> str | None:
        return _expand(v) if v else v


class Goals(_Strict):
    people_per_month: int = Field(default=3, ge=0)


class Intros(_Strict):
    auto_ask: bool = False  # draft opt-in asks for the best suggestions without being told
    max_asks_per_month: int = Field(default=2, ge=0)  # introductions started automatically
    ask_expires_after: Duration = timedelta(days=30)  # an ask nobody answered closes quietly
    followup_after: Duration = timedelta(days=21)  # "how did it go?" this long after the intro
    # Warm: in touch within this many cadences. 1 would rule out everyone a note is due for,
    # and an introduction is itself a good reason to get back in touch.
    warm_within: float = Field(default=2.0, gt=0)
    synonyms: dict[str, list[str]] = {}  # "seed funding" = ["angel money"]


_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


class Digest(_Strict):
    enabled: bool = False  # a weekly summary draft to yourself
    day: Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"] = "monday"
    hour: int = Field(default=8, ge=0, le=23)  # local time, [me] timezone

    @property
    def weekday(self) -> int:
        return _WEEKDAYS.index(self.day)


ENV_PREFIX = "CIRCLEBACK_"
ENV_NESTED_DELIMITER = "__"


class Settings(_Strict):
    """The whole configuration. Environment: CIRCLEBACK_DRAFTING__BUDGET_PER_WEEK=3 (see ``load_settings``).

    Nested sections default to an empty table validated like one the file gave, so a
    missing ``[drafting]`` does not build ``Drafting``'s validator a second time.
    """

    me: Me = Field(default={}, validate_default=True)
    sync: SyncSettings = Field(default={}, validate_default=True)
    accounts: list[AccountConfig] = []
    cadence: Cadence = Field(default={}, validate_default=True)
    people: list[Person] = []
    filters: Filters = Field(default={}, validate_default=True)
    drafting: Drafting = Field(default={}, validate_default=True)
    goals: Goals = Field(default={}, validate_default=True)
    intros: Intros = Field(default={}, validate_default=True)
    digest: Digest = Field(default={}, validate_default=True)
    people_file: str | None = None  # more [[people]] in a file of their own, merged on load

    @model_validator(mode="after")
    def _consistent(self) -> Settings:
        first: dict[str, int] = {}
        for i, a in enumerate(self.accounts):
            if first.setdefault(a.name, i) != i:
                raise KeyProblem(
                    ("accounts", i, "name"),
                    f"{a.name!r} is already the name of accounts[{first[a.name]}]; each account needs its own name",
                )
        if self.drafting.account and self.drafting.account not in first:
            raise KeyProblem(
                ("drafting", "account"),
                f"{self.drafting.account!r} names no account; known: {', '.join(first) or '(none)'}",
            )
        return self

    def account(self, name: str) -> Any:
        for a in self.accounts:
            if a.name == name:
                return a
        raise KeyError(name)


def _setting_path(variable: str) -> tuple[str, ...] | None:
    """("drafting", "budget_per_week") for CIRCLEBACK_DRAFTING__BUDGET_PER_WEEK, any case; None for others."""
    name = variable.lower()
    prefix = ENV_PREFIX.lower()
    if not name.startswith(prefix):
        return None
    path = tuple(name.removeprefix(prefix).split(ENV_NESTED_DELIMITER))
    return path if path[0] in Settings.model_fields else None  # not CIRCLEBACK_CONFIG, CIRCLEBACK_STATE_DIR


class Environment(NamedTuple):
    """What the CIRCLEBACK_ variables set, so an error in it names the variable, not the file."""

    values: dict[str, Any]  # nested raw values, as pydantic-settings read them
    variables: dict[tuple[str, ...], str]  # key path -> the variable's name as the environment spells it

    def variable_for(self, loc: tuple[str | int, ...]) -> str | None:
        """The variable whose value is at ``loc``, or None when the file (or a default) gave it."""
        node: Any = self.values
        for part in loc:
            if not isinstance(node, dict):
                break  # inside a list or table the variable gave whole, as JSON
            if part not in node:
                return None
            node = node[part]
        given = [path for path in self.variables if loc and loc[: len(path)] == path]
        return self.variables[max(given, key=len)] if given else None


NO_ENVIRONMENT = Environment({}, {})


def read_environment() -> Environment:
    """The settings the environment gives, read by pydantic-settings.

    pydantic-settings (its many sources, dotenv, argparse) adds 15-20 ms to what ``circleback
    status`` takes to start (benchmarks/core.py), so it is imported only when a variable names
    a setting; most runs set none. ``Settings`` is therefore a plain
    model, and this is the one place the environment is read.
    """
    variables = {path: name for name in os.environ if (path := _setting_path(name))}
    if not variables:
        return NO_ENVIRONMENT
    from pydantic_settings import EnvSettingsSource, SettingsError

    source = EnvSettingsSource(
        Settings,  # type: ignore[arg-type]  # the source reads only its fields and the options given here
        case_sensitive=False,
        env_prefix=ENV_PREFIX,
        env_nested_delimiter=ENV_NESTED_DELIMITER,
    )
    try:
        return Environment(source(), variables)
    except SettingsError as exc:
        raise ConfigError(_unparsable(str(exc), variables)) from None


def _unparsable(message: str, variables: dict[tuple[str, ...], str]) -> str:
    """pydantic-settings names only the field whose JSON failed to parse: name its variable and value."""
    found = re.search(r'field "([^"]+)"', message)
    field = found.group(1) if found else ""
    named = [name for path, name in variables.items() if path == (field,)]
    if len(named) != 1:
        return f"environment: {message}"
    return (
        f"{_variable_and_value(named[0])}: {field}: not valid JSON; a table or list from the environment "
        """is written as JSON, like '{"key": 3}' or '["a"]'"""
    )


def _variable_and_value(name: str) -> str:
    return f"environment variable {name}={os.environ[name]!r}"


def _merged(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """``override`` laid over ``base``, table by table, as pydantic-settings merges its sources."""
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merged(out[key], value)
        else:
            out[key] = value
    return out


def _user_loc(loc: tuple[Any, ...]) -> tuple[str | int, ...]:
    """pydantic's ``loc`` less the parts the user never wrote: union tags and validator names."""
    out: list[str | int] = []
    for part in loc:
        if part in ACCOUNT_KINDS and out[:1] == ["accounts"] and len(out) == 2:
            continue  # the discriminator's tag, not a key the user wrote
        if isinstance(part, str) and part.startswith("function-"):
            continue
        out.append(part)
    return tuple(out)


def _key_path(loc: tuple[str | int, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else ("." if out else "") + str(part)
    return out or "(top level)"


def _explain(err: dict[str, Any]) -> str:
    kind = err["type"]
    if kind == "extra_forbidden":
        return "unknown key (check the spelling against config.example.toml)"
    if kind == "union_tag_invalid":
        got = err.get("ctx", {}).get("tag", "?")
        return f"kind: must be one of {', '.join(repr(k) for k in ACCOUNT_KINDS)} (got {got!r})"
    if kind == "union_tag_not_found":
        return f"missing 'kind': one of {', '.join(repr(k) for k in ACCOUNT_KINDS)}"
    if kind == "missing":
        return "required key is missing"
    msg = str(err["msg"])
    return msg.removeprefix("Value error, ")


Problem = tuple[tuple[str | int, ...], str]  # key path, what is wrong and what is allowed


def _problems(exc: ValidationError) -> list[Problem]:
    """pydantic's errors as key paths the user wrote, a ``KeyProblem``'s at the key it names."""
    out = []
    for err in exc.errors():
        loc = _user_loc(tuple(err["loc"]))
        cause = err.get("ctx", {}).get("error")
        out.append((loc + cause.loc, str(cause)) if isinstance(cause, KeyProblem) else (loc, _explain(err)))
    return out


def format_problems(source: str, problems: list[Problem], env: Environment = NO_ENVIRONMENT) -> str:
    """One line per problem, naming the file and key, or the environment variable and its value."""
    lines = []
    for loc, what in problems:
        variable = env.variable_for(loc)
        where = _variable_and_value(variable) if variable else source
        lines.append(f"{where}: {_key_path(loc)}: {what}")
    return "\n".join(lines)


def written_config_problems(settings: Settings) -> list[Problem]:
    """Rules for a config a person wrote, checked on load but not by the model.

    Tests and the demo build partial ``Settings`` in code (no addresses, groups as bare labels);
    a file that circleback runs from must say who the user is and name only groups it declares.
    """
    problems: list[Problem] = []
    if not settings.me.addresses:
        problems.append((("me", "addresses"), (
            "no address given: without the addresses you write from circleback cannot tell mail you sent "
            'from mail you received; add a line like addresses = ["you@example.org"] under [me]'
        )))  # fmt: skip
    problems += _unknown_groups(settings)
    templates_dir = settings.drafting.templates_dir
    if templates_dir and (what := not_a_folder(Path(templates_dir))):
        why = f"{templates_dir} {what} (create it, or remove the key to use the built-in templates)"
        problems.append((("drafting", "templates_dir"), why))
    return problems


def not_a_folder(path: Path) -> str | None:
    """Why ``path`` cannot be a folder of templates ("does not exist", "is not a folder"), or None."""
    if path.is_dir():
        return None
    return "is not a folder" if path.exists() else "does not exist"


def _unknown_groups(settings: Settings) -> list[Problem]:
    """Every group a person, a weight or ``linkedin_groups`` names must be a key of ``[cadence] groups``."""
    known = settings.cadence.groups
    named: list[tuple[tuple[str | int, ...], str]] = [
        *((("people", i, "group"), p.group) for i, p in enumerate(settings.people) if p.group),
        *((("cadence", "weights", g), g) for g in settings.cadence.weights),
        *((("drafting", "linkedin_groups", i), g) for i, g in enumerate(settings.drafting.linkedin_groups)),
    ]
    return [(loc, _not_a_group(group, sorted(known))) for loc, group in named if group not in known]


def _not_a_group(group: str, known: list[str]) -> str:
    import difflib  # only when there is a mistake to explain: not on every start

    close = difflib.get_close_matches(group, known, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    now = ", ".join(known) or "(none)"
    return f"{group!r} is not a group{hint}; groups are the keys of [cadence] groups, now: {now}"


def load_settings(path: Path | None, *, environ: bool = True) -> Settings:
    """Read and validate the config file, the environment's CIRCLEBACK_ settings laid over it.

    ``path=None`` means all defaults, without the rules of ``written_config_problems``;
    ``environ=False`` (the demo, tests) ignores the environment.
    """
    data: dict[str, Any] = {}
    source = str(path) if path else "(defaults)"
    if path is not None:
        try:
            data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(
                f"{path}: no such file (copy config.example.toml there, or pass --config)"
            ) from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: cannot read: {exc}") from None
    if isinstance(data.get("people_file"), str):
        data = _with_people_file(data, Path(path) if path else None)
    env = read_environment() if environ else NO_ENVIRONMENT
    try:
        settings = Settings(**_merged(data, env.values))
    except ValidationError as exc:
        raise ConfigError(format_problems(source, _problems(exc), env)) from None
    problems = written_config_problems(settings) if path is not None else []
    if problems:
        raise ConfigError(format_problems(source, problems, env))
    return settings


def _with_people_file(data: dict[str, Any], config_path: Path | None) -> dict[str, Any]:
    """``[[people]]`` from ``people_file`` appended to the config's own; a relative path is beside the config."""
    target = Path(_expand(data["people_file"]))
    if not target.is_absolute() and config_path is not None:
        target = config_path.parent / target
    try:
        extra = tomllib.loads(target.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{config_path}: people_file: {target}: no such file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{target}: not valid TOML: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{target}: cannot read: {exc}") from None
    unknown = sorted(set(extra) - {"people"})
    if unknown:
        raise ConfigError(f"{target}: only [[people]] entries belong in a people file; found {', '.join(unknown)}")
    people = extra.get("people", [])
    if not isinstance(people, list):
        raise ConfigError(f"{target}: people: write entries as [[people]] tables")
    return {**data, "people": [*data.get("people", []), *people]}
