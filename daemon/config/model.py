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
from datetime import time, timedelta
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from .durations import Duration, PollInterval

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
