"""Typed settings from one TOML file, with CIRCLEBACK_ environment overrides.

Every error names the file (or the environment variable and its value), the key path and
what is allowed (STYLE.md #6).
Account kinds form a discriminated union on ``kind``; a later connector adds
its own model to ``AccountConfig`` and its class to ``connectors/registry.py``.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import re
import shlex
import tomllib
from datetime import time, timedelta
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, Literal, NamedTuple, Union, get_args, get_origin
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .durations import Duration, PollInterval
from .errors import ConfigError

log = logging.getLogger(__name__)


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
    note: str = ""  # what I value in them, as you would jot it down: read and turned to address them
    say: str = ""  # your own words to them, used as a sentence exactly as written
    greet: str = ""  # what a note calls them ("Dad", "Nan", "Bobby"); default: their first name
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


class StrongHistory(_Strict):
    """Who gets notes without being named under [[people]]: a personal history, over months.

    Only messages and meetings with at most ``small`` people besides me count (a Cc list or
    an all-hands says nothing about two people); then either two-way mail (``sent`` from
    me and ``received`` from them) or ``meetings`` together, first to last over ``span``.
    """

    small: int = Field(default=3, ge=1)
    sent: int = Field(default=2, ge=0)
    received: int = Field(default=2, ge=0)
    meetings: int = Field(default=3, ge=0)
    span: Duration = timedelta(days=60)


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
    # Notes go to the people you named (and imported) and, unless this is false, to people with
    # a strong personal history; everyone else who drifts is a suggestion in `status`.
    unnamed: bool = True
    strong_history: StrongHistory = StrongHistory()

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
        owner: dict[str, int] = {}
        for i, p in enumerate(self.people):
            for e in p.emails:
                j = owner.setdefault(e, i)
                if j != i:  # merged silently, one of them would vanish and a note go out under the wrong name
                    who = self.people[j].name or self.people[j].emails[0]
                    raise KeyProblem(
                        ("people", i, "emails"),
                        f"{e!r} is already an address of people[{j}] ({who}); an address belongs to one person: "
                        "merge the two entries or remove it from one",
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
    """Every variable that had to be JSON and is not, named with its value and key path.

    pydantic-settings stops at the first such value and names only its top-level field
    ("me" for CIRCLEBACK_ME__ADDRESSES), so the variables are checked here one by one.
    """
    lines = [
        f"{_variable_and_value(name)}: {_key_path(path)}: {what}"
        for path, name in variables.items()
        if (what := _not_json(path, os.environ[name]))
    ]
    return "\n".join(lines) or f"environment: {message}"


# Examples for the lists and tables people most often set from the environment.
_JSON_EXAMPLES = {("me", "addresses"): '["you@example.org"]', ("cadence", "groups"): '{"friends": "6w"}'}


def _not_json(path: tuple[str, ...], value: str) -> str | None:
    """How to write the list or table at ``path``, when its variable must be JSON and is not."""
    kinds = _kinds_of(_annotation_at(path))
    if len(kinds) != 1:
        return None  # an optional table (quiet_hours) may also be a string: pydantic-settings passes it on
    if get_origin(kinds[0]) is list:
        of_tables = any(_is_model(kind) for kind in _kinds_of(get_args(kinds[0])[0]))  # accounts, people
        shape, example = "a list", '[{"key": "value"}]' if of_tables else '["a", "b"]'
    elif get_origin(kinds[0]) is dict or _is_model(kinds[0]):
        shape, example = "a table", '{"key": "value"}'
    else:
        return None
    import json  # an error path: not on every start

    try:
        json.loads(value)
    except ValueError:
        return f"{shape} is written as JSON, like {_JSON_EXAMPLES.get(path, example)!r}"
    return None


def _is_model(kind: Any) -> bool:
    return isinstance(kind, type) and issubclass(kind, BaseModel)


def _kinds_of(annotation: Any) -> list[Any]:
    """The types a value of ``annotation`` may have, ``Annotated`` and unions taken apart."""
    if get_origin(annotation) is Annotated:
        return _kinds_of(get_args(annotation)[0])
    if get_origin(annotation) in (Union, UnionType):
        return [kind for arg in get_args(annotation) for kind in _kinds_of(arg)]
    return [annotation]


def _annotation_at(loc: tuple[str | int, ...]) -> Any:
    """The annotation of the value at ``loc`` (pydantic's, union tags included), or None where there is none."""
    annotation: Any = Settings
    for part in loc:
        inner = (_inside(kind, part) for kind in _kinds_of(annotation))
        annotation = next((a for a in inner if a is not None), None)
        if annotation is None:
            return None
    return annotation


def _inside(kind: Any, part: str | int) -> Any:
    if get_origin(kind) is list:
        return get_args(kind)[0] if isinstance(part, int) else None
    if get_origin(kind) is dict:
        return get_args(kind)[1]
    if not _is_model(kind):
        return None
    if part in kind.model_fields:
        return kind.model_fields[part].annotation
    tag = kind.model_fields.get("kind")
    return kind if tag is not None and part in get_args(tag.annotation) else None  # an account's kind


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
        return _unknown_key(tuple(err["loc"]))
    if kind == "union_tag_invalid":
        got = err.get("ctx", {}).get("tag", "?")
        return f"kind: must be one of {', '.join(repr(k) for k in ACCOUNT_KINDS)} (got {got!r})"
    if kind == "union_tag_not_found":
        return f"missing 'kind': one of {', '.join(repr(k) for k in ACCOUNT_KINDS)}"
    if kind == "missing":
        return "required key is missing"
    msg = str(err["msg"])
    return msg.removeprefix("Value error, ")


def _unknown_key(loc: tuple[str | int, ...]) -> str:
    """What to say of the key at pydantic's ``loc``, with the nearest key its table allows."""
    table = [key for model in _kinds_of(_annotation_at(loc[:-1])) if _is_model(model) for key in model.model_fields]
    return f"unknown key{_did_you_mean(str(loc[-1]), table) or ' (check the spelling against config.example.toml)'}"


def _did_you_mean(word: str, choices: list[str]) -> str:
    """' (did you mean 'friends'?)' when ``word`` is close to one of ``choices``, else ''."""
    import difflib  # only when there is a mistake to explain: not on every start

    close = difflib.get_close_matches(word, choices, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


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


def written_config_problems(data: dict[str, Any]) -> list[Problem]:
    """Rules for a config a person wrote, checked on load but not by the model.

    Tests and the demo build partial ``Settings`` in code (no addresses); a file that circleback
    runs from must say who the user is. The rules read the file's (and environment's) raw values,
    so they run even when the model finds problems too, and every problem is reported at once;
    a value of the wrong type is left to the model to report.
    """
    problems: list[Problem] = []
    me = data.get("me", {})
    if isinstance(me, dict) and me.get("addresses", []) == []:
        problems.append((("me", "addresses"), (
            "no address given: without the addresses you write from circleback cannot tell mail you sent "
            'from mail you received; add a line like addresses = ["you@example.org"] under [me]'
        )))  # fmt: skip
    templates_dir = _table(data, "drafting").get("templates_dir")
    if isinstance(templates_dir, str) and templates_dir and (what := not_a_folder(Path(_expand(templates_dir)))):
        why = f"{_expand(templates_dir)} {what} (create it, or remove the key to use the built-in templates)"
        problems.append((("drafting", "templates_dir"), why))
    return problems


def _table(data: dict[str, Any], key: str) -> dict[str, Any]:
    """The raw table at ``key``; empty when it is missing or not a table (the model reports that)."""
    value = data.get(key)
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def not_a_folder(path: Path) -> str | None:
    """Why ``path`` cannot be a folder of templates ("does not exist", "is not a folder"), or None."""
    if path.is_dir():
        return None
    return "is not a folder" if path.exists() else "does not exist"


def group_warnings(data: dict[str, Any]) -> list[Problem]:
    """One warning per group name that ``[cadence] groups`` does not declare, at the first key naming it.

    Such a group is a label on the default cadence, which is allowed (upgraded configs use groups
    as labels); the warning catches a typo, which would otherwise lose its cadence without a word.
    """
    declared = _table(data, "cadence").get("groups", {})
    if not isinstance(declared, dict):
        return []
    named: dict[str, list[tuple[str | int, ...]]] = {}
    for loc, group in _named_groups(data):
        if group not in declared:
            named.setdefault(group, []).append(loc)
    return [(locs[0], _undeclared_group(group, sorted(declared), len(locs) - 1)) for group, locs in named.items()]


def _named_groups(data: dict[str, Any]) -> list[tuple[tuple[str | int, ...], str]]:
    """Every group a person, a weight or ``linkedin_groups`` names, with its key path (other raw types skipped)."""
    people = data.get("people")
    linkedin = _table(data, "drafting").get("linkedin_groups")
    named: list[tuple[tuple[str | int, ...], Any]] = [
        *((("people", i, "group"), p.get("group")) for i, p in enumerate(_list(people)) if isinstance(p, dict)),
        *((("cadence", "weights", g), g) for g in _table(_table(data, "cadence"), "weights")),
        *((("drafting", "linkedin_groups", i), g) for i, g in enumerate(_list(linkedin))),
    ]
    return [(loc, group) for loc, group in named if isinstance(group, str) and group]


def _undeclared_group(group: str, declared: list[str], elsewhere: int) -> str:
    hint = _did_you_mean(group, declared)
    also = f" (named at {elsewhere} more key{'s' if elsewhere > 1 else ''} too)" if elsewhere else ""
    now = ", ".join(declared) or "(none)"
    return (
        f"{group!r} is not declared in [cadence] groups{hint}, so it is a label on the default cadence{also}; "
        f"declared: {now}"
    )


def load_settings(path: Path | None, *, environ: bool = True) -> Settings:
    """Read and validate the config file, the environment's CIRCLEBACK_ settings laid over it.

    ``path=None`` means all defaults, without the rules of ``written_config_problems``;
    ``environ=False`` (the demo, tests) ignores the environment. Warnings (``group_warnings``)
    are logged, so ``config check`` and the service's log show them; problems raise one
    ``ConfigError`` with a line each.
    """
    data = _read_config(path) if path is not None else {}
    source = str(path) if path else "(defaults)"
    env = read_environment() if environ else NO_ENVIRONMENT
    data = _merged(data, env.values)
    problems = written_config_problems(data) if path is not None else []
    warnings = group_warnings(data) if path is not None else []
    for line in format_problems(source, warnings, env).splitlines():
        log.warning("%s", line)
    try:
        settings = Settings(**data)
    except ValidationError as exc:
        raise ConfigError(format_problems(source, _problems(exc) + problems, env)) from None
    if problems:
        raise ConfigError(format_problems(source, problems, env))
    return settings


def _read_config(path: Path) -> dict[str, Any]:
    """The config file's TOML, with ``people_file``'s people added."""
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: no such file (run `circleback config init` to write a commented one there, or pass --config FILE)"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from None
    return _with_people_file(data, Path(path)) if isinstance(data.get("people_file"), str) else data


def _with_people_file(data: dict[str, Any], config_path: Path) -> dict[str, Any]:
    """``[[people]]`` from ``people_file`` appended to the config's own; a relative path is beside the config."""
    target = Path(_expand(data["people_file"]))
    if not target.is_absolute():
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
