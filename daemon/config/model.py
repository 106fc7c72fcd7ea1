"""Typed settings from one TOML file, with CIRCLEBACK_ environment overrides.

Every error names the file (or the environment variable and its value), the key path and
what is allowed (docs/STYLE.md #6).
Account tables are the connectors' own (``connectors/accounts.py``), a union discriminated on
``kind``; which kinds there are is ``connectors/registry.py``'s table.
"""

from __future__ import annotations

import logging
import re
from datetime import time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator

from circleback.connectors.accounts import AccountConfig, ConfigTable, expand_path

from .durations import Duration

log = logging.getLogger(__name__)


class KeyProblem(ValueError):
    """A problem a validator finds at a key below its own table: pydantic alone would report the table.

    ``loc`` is relative to the model whose validator raises it, like pydantic's own ``loc``.
    """

    def __init__(self, loc: tuple[str | int, ...], message: str) -> None:
        super().__init__(message)
        self.loc = loc


class Me(ConfigTable):
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


class SyncSettings(ConfigTable):
    lookback: Duration = timedelta(days=3 * 365)  # how far back a first sync reads
    lookahead: Duration = timedelta(days=60)  # how far ahead calendars are read


class Cadence(ConfigTable):
    default: Duration = timedelta(days=91)
    groups: dict[str, Duration] = {}
    weights: dict[str, float] = {}  # priority weight per group (default 1)


class Person(ConfigTable):
    name: str = ""
    emails: list[str] = []
    group: str = ""
    cadence: Duration | None = None
    note: str = ""  # what I value in them, as you would jot it down: read and turned to address them
    say: str = ""  # your own words to them, used as a sentence exactly as written
    greet: str = ""  # what a note calls them ("Dad", "Nan", "Bobby"); default: their first name
    sign_as: str = ""  # how a note to them is signed ("Dad", "Grandpa"); default: your signature (family: first name)
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


class Filters(ConfigTable):
    ignore_domains: list[str] = []
    ignore_addresses: list[str] = []
    max_thread_size: int = Field(default=10, ge=2)  # participants on a message
    max_meeting_size: int = Field(default=8, ge=2)  # attendees, rooms excluded


_HHMM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


class QuietHours(ConfigTable):
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
        if value.strip().lower() == "off":
            return None
        parts = value.split("-")
        if len(parts) != 2 or not all(_HHMM.match(p.strip()) for p in parts):
            raise ValueError(f'{value!r}: write quiet hours as "HH:MM-HH:MM", like "21:00-08:00", or "off"')
        a, b = (time.fromisoformat(p.strip().zfill(5)) for p in parts)
        return {"start": a, "end": b}
    return value


class StrongHistory(ConfigTable):
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


class Drafting(ConfigTable):
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
    # Notes go to the people you named (and imported); with this true, also to people with a
    # strong personal history. Off by default: a blind review found a note to a 16-year-old the
    # user coaches, one to her mother and one to a recruiter, each with a strong history. Everyone
    # else who drifts is a suggestion in `status`, with the [[people]] lines to add.
    unnamed: bool = False
    strong_history: StrongHistory = StrongHistory()

    _quiet = field_validator("quiet_hours", mode="before")(_parse_quiet)

    @field_validator("templates_dir")
    @classmethod
    def _path(cls, v: str | None) -> str | None:
        return expand_path(v) if v else v


class Goals(ConfigTable):
    people_per_month: int = Field(default=3, ge=0)


class Intros(ConfigTable):
    auto_ask: bool = False  # draft opt-in asks for the best suggestions without being told
    max_asks_per_month: int = Field(default=2, ge=0)  # introductions started automatically
    ask_expires_after: Duration = timedelta(days=30)  # an ask nobody answered closes quietly
    followup_after: Duration = timedelta(days=21)  # "how did it go?" this long after the intro
    # Warm: in touch within this many cadences. 1 would rule out everyone a note is due for,
    # and an introduction is itself a good reason to get back in touch.
    warm_within: float = Field(default=2.0, gt=0)
    synonyms: dict[str, list[str]] = {}  # "seed funding" = ["angel money"]


_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


class Digest(ConfigTable):
    enabled: bool = False  # a weekly summary draft to yourself
    day: Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"] = "monday"
    hour: int = Field(default=8, ge=0, le=23)  # local time, [me] timezone

    @property
    def weekday(self) -> int:
        return _WEEKDAYS.index(self.day)


class Settings(ConfigTable):
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
