"""The ``[[accounts]]`` tables: one pydantic model per kind, and the provider constants they name.

They live with the connectors, which read them, rather than with the daemon's settings, so
connectors depend on nothing above them. ``daemon/config`` builds its ``Settings`` on
:data:`AccountConfig`, a union discriminated on ``kind``; which kinds there are, and what each
one does, is ``registry.py``'s table (a test checks that the two agree).

Every error names the key and what is allowed (docs/STYLE.md #6); ``daemon/config/load.py`` adds the
file and the key path.
"""

from __future__ import annotations

import ipaddress
import os
import re
import shlex
from datetime import timedelta
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from .durations import Duration, PollInterval


class ConfigTable(BaseModel):
    """A config table: unknown keys are errors, values are frozen.

    Validators are built on first use (``defer_build``), so ``Settings`` builds the lot in one
    pass at load rather than every class its own at import. List and dict defaults are plain
    ``[]`` and ``{}`` (pydantic copies them per instance): ``default_factory=list`` has pydantic
    parse ``list``'s text signature, some milliseconds over all the fields. Both for
    ``status_startup_ms`` (benchmarks/core.py).
    """

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


def expand_path(path: str) -> str:
    """``~`` and ``$VARS`` expanded, as in every path the config names."""
    return os.path.expandvars(os.path.expanduser(path))


class Account(ConfigTable):
    """What every account has: its own name, and how often the service polls it."""

    name: Annotated[str, Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")]
    poll_interval: PollInterval | None = None  # how often `circleback run` polls it: "90s", "15min", "1h"


class LocalAccount(Account):
    """An account on this machine's disk; ``~`` and ``$VARS`` in its path are expanded."""

    path: str

    @field_validator("path")
    @classmethod
    def _path(cls, v: str) -> str:
        return expand_path(v)


class MaildirAccount(LocalAccount):
    kind: Literal["maildir"]
    drafts_folder: str = "Drafts"
    sent_folders: list[str] = Field(default_factory=lambda: ["Sent", "Sent Items", "Sent Messages"])
    skip_folders: list[str] = Field(default_factory=lambda: ["Junk", "Spam", "Trash", "Deleted Items"])


class MboxAccount(LocalAccount):
    kind: Literal["mbox"]  # path: one mbox file or a folder of them
    sent_files: list[str] = Field(default_factory=lambda: ["Sent", "sent", "sent_items", "Sent Mail"])


class IcsAccount(LocalAccount):
    kind: Literal["ics"]  # path: a folder of .ics files (vdirsyncer) or one file


class PasswordSource(ConfigTable):
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


def ca_file_path(v: str | None) -> str | None:
    """``ca_file``: ``~`` and ``$VARS`` expanded; a readable file of PEM CA certificates, checked now
    rather than at the first connection, so that ``config check`` names the key."""
    if v is None:
        return None
    path = expand_path(v)
    if not os.path.exists(path):
        raise ValueError(f"{path} does not exist (a PEM file of the CA certificates to trust for this server)")
    if not os.path.isfile(path):
        raise ValueError(f"{path} is not a file (a PEM file of the CA certificates to trust for this server)")
    try:
        with open(path, "rb") as pem:
            text = pem.read(1 << 20)
    except OSError as exc:
        raise ValueError(f"{path} cannot be read ({exc.strerror or exc})") from None
    if b"-----BEGIN CERTIFICATE-----" not in text:
        raise ValueError(f"{path} holds no PEM certificate (-----BEGIN CERTIFICATE-----)")
    return path


_LOOPBACK_NAMES = {"localhost"}


def _is_loopback(host: str) -> bool:
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class ImapAccount(Account, PasswordSource):
    kind: Literal["imap"]
    host: Annotated[str, Field(min_length=1)]
    port: Annotated[int, Field(ge=1, le=65535)] | None = None  # 993 for ssl, 143 otherwise
    security: Literal["ssl", "starttls", "none"] = "ssl"
    username: Annotated[str, Field(min_length=1)]
    folders: list[str] | None = None  # None: every folder except Junk, Trash and Drafts
    sent_folder: str = "Sent"  # when the server marks no folder \Sent (RFC 6154)
    drafts_folder: str = "Drafts"  # when the server marks no folder \Drafts
    junk_folders: list[str] = []  # more spam folders never read, beside \Junk and the usual names
    trash_folders: list[str] = []  # more deleted-mail folders never read, beside \Trash and the usual names
    timeout: Annotated[float, Field(gt=0, le=600)] = 60.0  # seconds per network read
    ca_file: str | None = None  # PEM CA certificates to trust instead of the system's (a private CA)

    _ca_file = field_validator("ca_file")(ca_file_path)

    @model_validator(mode="after")
    def _consistent(self) -> ImapAccount:
        if len(self.password_sources) != 1:
            raise ValueError("set exactly one of password_command, password_env, credential")
        if self.ca_file and self.security == "none":
            raise ValueError("ca_file is for TLS: it needs security = 'ssl' or 'starttls'")
        if self.security == "none" and not _is_loopback(self.host):
            raise ValueError(
                f"security = 'none' would send the password in clear text to {self.host}; "
                "it is only allowed for 127.0.0.1, ::1 or localhost (use 'ssl' or 'starttls')"
            )
        return self

    @property
    def effective_port(self) -> int:
        return self.port or (993 if self.security == "ssl" else 143)


class CalDavAccount(Account, PasswordSource):
    kind: Literal["caldav"] = "caldav"
    url: str  # the server root or the principal URL
    username: str = ""
    calendars: list[str] | None = None  # display names or URLs; None = every event calendar
    verify_tls: bool = True
    ca_file: str | None = None  # PEM CA certificates to trust instead of the system's (a private CA)

    _ca_file = field_validator("ca_file")(ca_file_path)

    @model_validator(mode="after")
    def _one_password_source(self) -> CalDavAccount:
        if self.ca_file and not self.verify_tls:
            raise ValueError("ca_file is set but verify_tls = false checks no certificate; remove one of them")
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


class OutlookAccount(Account):
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

# Units per call (developers.google.com/workspace/gmail/api/reference/quota, docs/PROVIDERS.md).
# A 2026 table reports messages.get 20 and threads.get 40: the config may override these.
DEFAULT_COSTS: dict[str, int] = {
    "messages.list": 5,
    "messages.get": 5,
    "threads.get": 10,
    "history.list": 2,
    "drafts.create": 10,
    "drafts.list": 5,
    "drafts.get": 5,
    "drafts.delete": 10,
    "getProfile": 1,
    "events.list": 1,  # Calendar counts requests (600/min/user), not units
}
PER_USER_UNITS = 6000  # per minute, Cloud projects created from 1 May 2026 (earlier: 15,000)
PER_PROJECT_UNITS = 1_200_000  # per minute


class GoogleAccount(Account):
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


class GmailAccount(GoogleAccount):
    """One ``[[accounts]]`` entry of kind ``gmail``: mail headers and drafts."""

    kind: Literal["gmail"] = "gmail"
    full_sync_chunk: Annotated[int, Field(ge=50)] = 5000  # messages per sync call of a first sync


class GoogleCalendarAccount(GoogleAccount):
    """One ``[[accounts]]`` entry of kind ``google_calendar``."""

    kind: Literal["google_calendar"] = "google_calendar"
    calendars: list[str] = Field(default_factory=lambda: ["primary"], min_length=1)  # calendar ids
    # Calendar counts requests, not units: 600 a minute per user (docs/PROVIDERS.md).
    quota_per_minute: Annotated[int, Field(gt=0)] = 600


# One ``[[accounts]]`` entry. registry.KINDS names the same models, each with its connector.
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
