"""A made-up but realistic world for ``circleback demo``: two years of Alex Morgan's
mail headers and calendar, plus a config, so a newcomer sees circleback work
without connecting an account.

Everything is a pure function of ``(anchor, seed)``: no real clock, pid,
hostname or uuid reaches a file name or a byte, so two builds are identical and
a rebuild into the same folder changes nothing.  ``anchor`` is "now" for the
demo; 10:00 Europe/London on some day (see :func:`demo_anchor`) is typical,
because drafts only appear outside the config's quiet hours (21:00-07:00).

Every person carries the status circleback is expected to reach for them
under the rules of docs/DESIGN.md ("What counts as being in touch"), and why;
``tests/test_demo_world.py`` re-derives each status from the files to keep
these claims honest.  The world deliberately contains traps (mailing lists,
bulk mail, auto-replies, a no-reply sender, a 40-person all-hands, a cancelled
meeting, a declined meeting, a 15-recipient thread, a meeting room) that would
flip some statuses if they were wrongly counted as being in touch.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from email.header import Header
from email.utils import format_datetime, formataddr
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ZONE_NAME = "Europe/London"
ZONE = ZoneInfo(ZONE_NAME)
ME_NAME = "Alex Morgan"
ME_PERSONAL = "alex@morgan.example"
ME_WORK = "alex.morgan@work.example"
COMPANY = "Fernhill Software"  # the user's employer, at work.example
MAIL_FOLDERS = ("", ".Sent", ".Archive", ".Lists", ".Drafts")  # "" is INBOX (Maildir++)
# due: past their cadence with a hook, so a draft (budget permitting); needs-note:
# past their cadence with nothing specific to say, so listed, never drafted;
# upcoming-meeting: past their cadence but meeting soon, so no nudge; ball-in-court:
# they wrote last and were not answered; recent: within their cadence; noise:
# must never become a person at all.
STATUSES = ("due", "needs-note", "upcoming-meeting", "ball-in-court", "recent", "noise")

# Our own file names, so a rebuild can prune what an older anchor left behind
# without touching anything else (e.g. drafts circleback wrote).
_MAIL_NAME = re.compile(r"^\d+\.demo\d+\.circleback:2,[A-Z]*$")
_ICS_NAME = re.compile(r"^demo-[a-z0-9-]+\.ics$")


@dataclass(frozen=True)
class DemoPerson:
    name: str
    emails: tuple[str, ...]
    group: str  # the [[people]] group in config.toml; "" when not configured (default cadence)
    expected_status: str  # one of STATUSES
    why: str
    circle: str = ""  # colleague, friend, mentor, family, acquaintance, noise: for humans
    hook: str = ""  # what a draft can be specific about; "" for needs-note and noise
    in_config: bool = False


@dataclass(frozen=True)
class DemoWorld:
    root: Path
    maildir: Path
    calendar: Path
    config_path: Path
    people: list[DemoPerson]
    anchor: datetime
    seed: int = 7
    message_count: int = 0
    event_count: int = 0

    def with_status(self, status: str) -> list[DemoPerson]:
        return [p for p in self.people if p.expected_status == status]


def demo_anchor(day: date) -> datetime:
    """10:00 in London on ``day``, as aware UTC: outside the demo's quiet hours."""
    return datetime.combine(day, time(10, 0), ZONE).astimezone(UTC)


# --------------------------------------------------------------------------- roster


@dataclass(frozen=True)
class _Channel:
    """One address a person writes from, and the story of threads on it."""

    address: str
    last: float  # days before the anchor when the last thread started
    subject: str  # the last thread's subject: the hook a draft can quote
    since: float = 0  # days before the anchor when history starts; 0: only the last thread
    gap: tuple[float, float] = (30, 90)  # days between older threads
    work: bool = False  # work hours on weekdays, from my work address
    cc: bool = False  # sometimes copy another (recent) colleague
    first_subject: str = ""  # a thread pinned at ``since``
    last_turns: tuple[str, ...] = ()  # who writes in the last thread; () picks a shape


@dataclass(frozen=True)
class _Spec:
    key: str
    name: str
    circle: str
    status: str
    why: str
    channels: tuple[_Channel, ...] = ()
    hook: str = ""
    config: dict[str, Any] | None = None  # the [[people]] entry beyond name/emails
    calendar_only: str = ""  # an address known only from calendar invitations

    @property
    def emails(self) -> tuple[str, ...]:
        found = [c.address for c in self.channels] + [self.calendar_only]
        return tuple(dict.fromkeys(a for a in found if a))

    @property
    def address(self) -> str:
        return self.emails[0]


def _li(slug: str) -> str:
    return f"https://www.linkedin.com/in/{slug}"


def _w(addr: str, last: float, subject: str, since: float, **kw: Any) -> _Channel:
    return _Channel(addr, last, subject, since, gap=(40, 80), work=True, **kw)


_COLLEAGUES = (
    _Spec(
        "priya", "Priya Raman", "colleague", "recent",
        "weekly 1:1 (last one days ago) and threads every few weeks",
        (_w("priya.raman@work.example", 4, "Hiring loop for the backend role", 735, cc=True,
            first_subject="Welcome to the team!"),),
        config={"group": "colleagues", "company": COMPANY, "title": "Engineering Manager",
                "note": "gives the clearest feedback I've ever had. her review questions saved "
                        "the importer rewrite",
                "linkedin": _li("priya-raman-demo")},
    ),
    _Spec(
        "tomas", "Tomás Herrera", "colleague", "recent",
        "weekly 1:1 (one week skipped, one moved) and regular threads; default cadence",
        (_w("tomas.herrera@work.example", 8, "Code review: ingestion pipeline", 600, cc=True),),
    ),
    _Spec(
        "kenji", "Kenji Watanabe", "colleague", "recent",
        "thread 5 days ago; his out-of-office auto-reply must not count as him writing",
        (_w("kenji.watanabe@work.example", 5, "Sprint retro notes", 500, cc=True),),
    ),
    _Spec(
        "fatima", "Fatima Al-Sayed", "colleague", "recent",
        "thread 12 days ago and a design review",
        (_w("fatima.alsayed@work.example", 12, "Metrics dashboard for the pilot", 400, cc=True),),
    ),
    _Spec(
        "arjun", "Arjun Mehta", "colleague", "recent", "thread 16 days ago",
        (_w("arjun.mehta@work.example", 16, "Incident follow-up: search latency", 300, cc=True),),
    ),
    _Spec(
        "hannah", "Hannah Schmidt", "colleague", "recent", "thread 10 days ago (monthly cadence)",
        (_w("hannah.schmidt@work.example", 10, "Offsite agenda", 450, cc=True),),
        config={"group": "colleagues", "company": COMPANY, "title": "Data Engineer"},
    ),
    _Spec(
        "lukas", "Lukas Becker", "colleague", "due",
        "last thread 45 days ago, monthly cadence; the all-hands does not count",
        (_w("lukas.becker@work.example", 45, "Q3 capacity planning", 650),),
        hook="note; thread 'Q3 capacity planning'",
        config={"group": "colleagues", "company": COMPANY, "title": "Product Manager",
                "note": "turns messy customer interviews into crisp problem statements; taught "
                        "me to write the why first",
                "seeks": ["ux research"], "linkedin": _li("lukas-becker-demo")},
    ),
    _Spec(
        "ben", "Ben Cohen", "colleague", "due",
        "last thread 40 days ago, monthly cadence; he DECLINED the roadmap review 6 days ago",
        (_w("ben.cohen@work.example", 40, "Migration plan for the billing service", 550),),
        hook="thread 'Migration plan for the billing service'",
        config={"group": "colleagues", "company": COMPANY, "title": "Staff Engineer"},
    ),
    _Spec(
        "chiara", "Chiara Rossi", "colleague", "recent",
        "writes from two addresses: work 50 days ago (due if not merged), personal 6 days ago",
        (_w("chiara.rossi@work.example", 50, "Offsite budget sign-off", 500),
         _Channel("chiara.rossi@post.example.net", 6, "Pottery class on Thursday?", 300,
                  gap=(40, 90))),
        config={"group": "colleagues", "company": COMPANY, "title": "Finance Lead"},
    ),
    _Spec(
        "grace", "Grace Okafor", "colleague", "recent",
        "thread 60 days ago; not configured, so the quarterly default applies",
        (_w("grace.okafor@work.example", 60, "Quarterly planning follow-ups", 350),),
    ),
)


def _p(addr: str, last: float, subject: str, since: float = 0, gap: tuple[float, float] = (60, 120)
       ) -> _Channel:
    return _Channel(addr, last, subject, since, gap=gap)


_FRIENDS = (
    _Spec(
        "mateo", "Mateo García", "friend", "due",
        "last thread 70 days ago, 6-week cadence; the 15-person barbecue thread does not count",
        (_p("mateo.garcia@example.com", 70, "Photos from the Lake District trip", 730),),
        hook="note; thread 'Photos from the Lake District trip'",
        config={"group": "friends", "company": "Trailhead Maps", "title": "Founder",
                "note": "says yes to every adventure. I still can't believe he got me up "
                        "Helvellyn in the rain",
                "seeks": ["seed funding"], "linkedin": _li("mateo-garcia-demo")},
    ),
    _Spec(
        "aisha", "Aisha Khan", "friend", "due",
        "last thread 95 days ago, 6-week cadence",
        (_p("aisha.khan@example.org", 95, "That ramen place in Leeds", 700),),
        hook="note; thread 'That ramen place in Leeds'",
        config={"group": "friends",
                "note": "knows the best food in every city and remembers what everyone ordered"},
    ),
    _Spec(
        "noah", "Noah Williams", "friend", "due",
        "last thread 60 days ago, 6-week cadence; his out-of-office reply 9 days ago does not count",
        (_p("noah@williams.example", 60, "Climbing on Saturday?", 650),),
        hook="thread 'Climbing on Saturday?'",
        config={"group": "friends"},
    ),
    _Spec(
        "yuki", "Yuki Tanaka", "friend", "recent",
        "thread 10 days ago; her reply-all to the barbecue thread is too big to count",
        (_p("yuki.tanaka@example.net", 10, "Gig tickets for March", 500),),
    ),
    _Spec(
        "ingrid", "Ingrid Johansson", "friend", "recent", "thread 20 days ago",
        (_p("ingrid.j@example.com", 20, "Book club pick", 400),),
    ),
    _Spec(
        "diego", "Diego Fernández", "friend", "recent",
        "thread 30 days ago; his mailing-list posts do not count",
        (_p("diego@fernandez.example", 30, "Five-a-side on Tuesday", 600),),
    ),
    _Spec(
        "zara", "Zara Ahmed", "friend", "upcoming-meeting",
        "last thread 80 days ago (due under 6 weeks) but coffee together in 4 days",
        (_p("zara.ahmed@example.org", 80, "Board game night at ours", 500),),
        hook="note; meeting 'Coffee with Zara'",
        config={"group": "friends",
                "note": "listens properly, then asks the one question that changes my mind"},
    ),
    _Spec(
        "olivia", "Olivia Brown", "friend", "needs-note",
        "due (125 days, 6-week cadence) but nothing to be specific about: no note, no "
        "meeting, only a subjectless mail and a bare 'Re:'",
        (_Channel("olivia.brown@example.com", 125, "", last_turns=("them", "me")),),
        config={"group": "friends"},
    ),
    _Spec(
        "samuel", "Samuel Osei", "friend", "recent", "thread 5 days ago",
        (_p("samuel.osei@example.net", 5, "Park run on Saturday", 600),),
    ),
    _Spec(
        "lea", "Léa Dubois", "friend", "recent", "thread 50 days ago; quarterly default",
        (_p("lea.dubois@example.org", 50, "Wedding photos", 350),),
    ),
)

_M_GAP = (60, 120)

_MENTORS = (
    _Spec(
        "margaret", "Margaret O'Neill", "mentor", "due",
        "last thread 210 days ago, quarterly cadence",
        (_p("margaret@oneill-advisory.example", 210, "Your advice on the team lead role", 720,
            _M_GAP),),
        hook="note; thread 'Your advice on the team lead role'",
        config={"group": "mentors", "company": "O'Neill Advisory", "title": "Advisor",
                "note": "Always asks the question nobody else thought of. helped me rethink the"
                        " pricing page",
                "linkedin": _li("margaret-oneill-demo")},
    ),
    _Spec(
        "rafael", "Rafael Costa", "mentor", "due",
        "last met 330 days ago (lunch), quarterly cadence",
        (_p("rafael@costa-ventures.example", 336, "Lunch next week?", 650, _M_GAP),),
        hook="meeting 'Lunch at Dishoom'; thread 'Lunch next week?'",
        config={"group": "mentors", "company": "Costa Ventures", "title": "Angel investor",
                "offers": ["seed funding"], "linkedin": _li("rafael-costa-demo")},
    ),
    _Spec(
        "nadia", "Nadia Petrova", "mentor", "due",
        "former colleague; last thread 155 days ago, quarterly cadence",
        (_p("nadia.petrova@example.com", 155, "Leaving drinks - thank you!", 700, _M_GAP),),
        hook="note; thread 'Leaving drinks - thank you!'",
        config={"group": "mentors", "company": "Lumen Health", "title": "Head of UX Research",
                "note": "rigorous researcher - her interview guide is still our template",
                "offers": ["ux research"], "linkedin": _li("nadia-petrova-demo")},
    ),
    _Spec(
        "david", "David Kim", "mentor", "due",
        "former colleague; last thread 540 days ago (18 months), quarterly cadence",
        (_p("david.kim@example.net", 540, "Congrats on the new role", 730, _M_GAP),),
        hook="thread 'Congrats on the new role'",
        config={"group": "mentors", "company": "Brightline", "title": "CTO"},
    ),
    _Spec(
        "elena", "Elena Popescu", "mentor", "due",
        "met once, 240 days ago, no mail at all; quarterly cadence",
        calendar_only="elena.popescu@mentoring.example.org",
        hook="note; meeting 'Mentoring session: career chat'",
        config={"group": "mentors", "title": "Mentor",
                "note": "Generous with her time, and blunt in the kindest way. her career-"
                        "ladder exercise shaped my last two years"},
    ),
    _Spec(
        "hamid", "Hamid Rezaei", "mentor", "due",
        "former colleague; last thread 185 days ago, quarterly default; the catch-up 10 days "
        "ago was CANCELLED",
        (_p("hamid.rezaei@example.com", 185, "Conference talk slides", 600, _M_GAP),),
        hook="thread 'Conference talk slides'",
    ),
)

_F_GAP = (30, 60)

_FAMILY = (
    _Spec(
        "sarah", "Sarah Morgan", "family", "recent", "thread 5 days ago, 2-week cadence",
        (_p("sarah.morgan@example.net", 5, "Mum's garden photos", 730, _F_GAP),),
        config={"group": "family",
                "note": "tells me when I'm working too much, and is always right"},
    ),
    _Spec(
        "james", "James Morgan", "family", "due",
        "last thread 20 days ago, 2-week cadence (family weighs double)",
        (_p("james.morgan@example.com", 20, "Sunday lunch at the allotment", 730, _F_GAP),),
        hook="note; thread 'Sunday lunch at the allotment'",
        config={"group": "family", "greet": "Dad",
                "note": "taught me to fix anything with patience and a flask of tea"},
    ),
)


def _a(key: str, name: str, addr: str, last: float, subject: str, since: float = 0,
       status: str = "recent", why: str = "") -> _Spec:
    why = why or f"thread {last:g} days ago; not configured, so the quarterly default applies"
    return _Spec(key, name, "acquaintance", status, why,
                 (_p(addr, last, subject, since, (60, 120)),))


_ACQUAINTANCES = (
    _Spec(
        "sofia", "Sofia Lindqvist", "acquaintance", "ball-in-court",
        "wrote three times in 25 days (last 3 days ago) and was never answered",
        (_Channel("sofia.lindqvist@nordlys.example.com", 3,
                  "Could we pick your brain about onboarding?"),),
        hook="thread 'Could we pick your brain about onboarding?'",
    ),
    _a("marcus", "Marcus Johnson", "marcus@ledgerly.example.com", 30, "Self-assessment paperwork",
       400),
    _a("wei", "Wei Zhang", "wei.zhang@example.org", 15, "Parcel for you", 500),
    _a("amara", "Amara Nwosu", "amara@bookclub.example.org", 40, "Next month's book", 500),
    _a("henrik", "Henrik Nilsson", "henrik@nilsson-design.example", 75,
       "Logo files, final versions", 450),
    _a("camila", "Camila Torres", "camila.torres@example.com", 25, "Are you around in August?",
       600),
    _a("joseph", "Joseph Mensah", "joseph.mensah@example.net", 50, "Boiler service next week",
       700),
    _a("ravi", "Ravi Iyer", "ravi.iyer@example.org", 70, "Slides from your PyCon UK talk"),
    _a("emily", "Emily Clarke", "emily.clarke@example.com", 65, "Half marathon training plan",
       300),
    _a("tariq", "Tariq Hassan", "tariq.hassan@example.net", 45, "Recommendation for a plumber",
       200),
    _a("ines", "Inês Carvalho", "ines.carvalho@example.org", 20, "Portuguese lessons", 250),
    _a("mei", "Mei Lin", "mei.lin@example.net", 35, "Volunteering at the food bank", 400),
)

ROSTER: tuple[_Spec, ...] = _COLLEAGUES + _FRIENDS + _MENTORS + _FAMILY + _ACQUAINTANCES
_BY_KEY = {s.key: s for s in ROSTER}
_CC_POOL = ("priya", "tomas", "kenji", "fatima", "arjun", "hannah")  # recent whatever happens

LIST_ADDR = ("Leeds Climbers", "leeds-climbers@lists.example.org")
LIST_ID = "Leeds Climbers <leeds-climbers.lists.example.org>"
LIST_MEMBERS = (("Tom Price", "tom.price@example.com"), ("Ana Souza", "ana.souza@example.org"))
NEWSLETTERS = (
    ("The Weekly Byte", "newsletter@weeklybyte.example.com", 30, "This week in software"),
    ("Ramen Monthly", "hello@ramenmonthly.example.net", 45, "New bowls this month"),
)
NOREPLY = ("Service Billing", "noreply@service.example")
ROOM = ("Room 3.14 (Ada)", "room-ada@resources.work.example")

_NOISE = (
    DemoPerson(LIST_ADDR[0], (LIST_ADDR[1],), "", "noise", "a mailing list (List-Id, in .Lists)",
               "noise"),
    *(DemoPerson(n, (a,), "", "noise", "only posts to the mailing list", "noise")
      for n, a in LIST_MEMBERS),
    *(DemoPerson(n, (a,), "", "noise", "newsletter: Precedence: bulk, List-Unsubscribe", "noise")
      for n, a, _, _ in NEWSLETTERS),
    DemoPerson(NOREPLY[0], (NOREPLY[1],), "", "noise", "a no-reply sender", "noise"),
    DemoPerson(ROOM[0], (ROOM[1],), "", "noise", "a meeting room (CUTYPE=ROOM)", "noise"),
)

_STAFF_FIRST = ("Helen", "Oscar", "Maya", "Ibrahim", "Rosa", "Daniel", "Leila", "Stefan", "Nora",
                "Kwame", "Elif", "Pavel", "Sienna", "Hiro", "Amelia", "Jonas", "Divya", "Luca",
                "Freya", "Emeka", "Clara", "Mohammed", "Ivy", "Anton", "Beatriz", "Sean", "Mina",
                "Rohan", "Agnes")
_STAFF_LAST = ("Carter", "Lindgren", "Patel", "Diallo", "Moreno", "Walsh", "Haddad", "Novak",
               "Berg", "Boateng", "Yilmaz", "Horvath", "Reid", "Sato", "Hughes", "Keller",
               "Nair", "Bianchi", "Murray", "Eze", "Schulz", "Farah", "Chen", "Volkov",
               "Santos", "Byrne", "Park", "Gupta", "Kowalczyk")
STAFF = tuple((f"{f} {s}", f"{f.lower()}.{s.lower()}@work.example")
              for f, s in zip(_STAFF_FIRST, _STAFF_LAST, strict=True))


def demo_people() -> list[DemoPerson]:
    """Everyone in the world with the status circleback should reach, noise last."""
    real = [
        DemoPerson(s.name, s.emails, (s.config or {}).get("group", ""), s.status, s.why,
                   s.circle, s.hook, s.config is not None)
        for s in ROSTER
    ]
    return real + list(_NOISE)


# --------------------------------------------------------------------------- time


@dataclass(frozen=True)
class _Clock:
    anchor: datetime  # aware UTC

    @property
    def today(self) -> date:
        return self.anchor.astimezone(ZONE).date()

    def day(self, days_ago: float) -> date:
        return self.today - timedelta(days=round(days_ago))

    def at(self, day: date, hour: int, minute: int = 0) -> datetime:
        # Local wall time in the user's zone, as real mail clients would stamp it.
        return datetime.combine(day, time(hour, minute), ZONE).astimezone(UTC)

    def after(self, t: datetime, hours: float) -> datetime:
        """``hours`` after ``t`` but never at or past the anchor (no mail from the future)."""
        later = t + timedelta(hours=hours)
        if later >= self.anchor:
            later = t + (self.anchor - t) / 2
        return later.replace(second=0, microsecond=0)


def _weekday_on_or_before(day: date, weekday: int | None = None) -> date:
    if weekday is None:  # any working day: Saturday and Sunday fall back to Friday
        return day - timedelta(days=max(0, day.weekday() - 4))
    return day - timedelta(days=(day.weekday() - weekday) % 7)


def _sent_time(clock: _Clock, rng: random.Random, days_ago: float, work: bool) -> datetime:
    day = clock.day(days_ago)
    if work:
        day = _weekday_on_or_before(day)
        return clock.at(day, rng.randint(9, 16), rng.randrange(0, 60))
    hour = rng.randint(10, 19) if day.weekday() >= 5 else rng.randint(18, 20)
    return clock.at(day, hour, rng.randrange(0, 60))


# --------------------------------------------------------------------------- mail


@dataclass
class _Mail:
    when: datetime
    sender: tuple[str, str]
    to: list[tuple[str, str]]
    subject: str
    message_id: str
    body: str
    cc: list[tuple[str, str]] = field(default_factory=list)
    in_reply_to: str = ""
    references: tuple[str, ...] = ()
    folder: str | None = None  # None: by direction and age
    extra: dict[str, str] = field(default_factory=dict)


_SUBJECTS = {
    "work": ("Sprint planning", "Feedback on the RFC", "Customer call recap", "On-call handover",
             "Roadmap dependencies", "Demo day prep", "Onboarding checklist", "Budget for Q2",
             "Vendor contract renewal", "Postmortem draft", "Interview debrief",
             "API versioning proposal", "Team lunch on Friday", "Conference proposal"),
    "friend": ("Dinner next week?", "Happy birthday!", "That podcast I mentioned",
               "Book recommendation", "Quiz night", "Holiday pics", "Recipe you asked for",
               "Moving house!", "Film on Sunday?", "Walk in Roundhay Park", "New job news"),
    "mentor": ("Catching up", "Thoughts on my promotion case", "The book you recommended",
               "Quick question about hiring", "Thank you for the intro",
               "Coffee when you are in town?", "Conference in Berlin"),
    "family": ("Call this weekend?", "Photos of the garden", "Nan's birthday", "Car MOT",
               "Recipe for the curry", "Train times", "Plans for the bank holiday"),
}
_BODIES_ME = ("Thanks, that's really helpful.", "Sounds great, count me in.",
              "Brilliant, speak soon.", "Good shout - let's do that.", "Thanks for thinking of me!",
              "Perfect, see you then.")
_BODIES_THEM = ("Let me know what you think.", "Would be great to catch up properly soon.",
                "Here's what I had in mind - does that work for you?",
                "No rush on this, whenever you get a chance.", "Thought you'd like this one.",
                "Are you free sometime next week?")
_SHAPES = (("them", "me"), ("me", "them", "me"), ("me",), ("them", "me", "them", "me"))


def _msgid(seed: int, key: str) -> str:
    digest = hashlib.sha256(f"{seed}|{key}".encode()).hexdigest()[:24]
    return f"{digest}@demo.example"


def _reply_subject(subject: str) -> str:
    return f"Re: {subject}" if subject else "Re:"


def _me(work: bool) -> tuple[str, str]:
    return (ME_NAME, ME_WORK if work else ME_PERSONAL)


@dataclass(frozen=True)
class _ThreadPlan:
    key: str
    start: datetime
    subject: str
    me: tuple[str, str]
    them: tuple[str, str]
    cc: tuple[tuple[str, str], ...] = ()
    turns: tuple[str, ...] = ("them", "me")
    reply_hours: tuple[float, float] = (1, 6)


def _thread(plan: _ThreadPlan, clock: _Clock, rng: random.Random, seed: int) -> list[_Mail]:
    mails: list[_Mail] = []
    when = plan.start
    for i, turn in enumerate(plan.turns):
        if i:
            when = clock.after(when, rng.uniform(*plan.reply_hours))
        sender, other = (plan.me, plan.them) if turn == "me" else (plan.them, plan.me)
        previous = mails[-1] if mails else None
        mails.append(_Mail(
            when=when, sender=sender, to=[other], cc=list(plan.cc),
            subject=_reply_subject(plan.subject) if i else plan.subject,
            message_id=_msgid(seed, f"{plan.key}/m{i}"),
            body=rng.choice(_BODIES_ME if turn == "me" else _BODIES_THEM),
            in_reply_to=previous.message_id if previous else "",
            references=(*previous.references, previous.message_id) if previous else (),
        ))
    return mails


def _thread_days(chan: _Channel, rng: random.Random) -> list[tuple[float, str | None]]:
    """(days ago, subject) per thread, newest first; None: pick a subject from the pool."""
    days: list[tuple[float, str | None]] = [(chan.last, chan.subject)]
    ago = chan.last
    while chan.since:
        ago += rng.uniform(*chan.gap)
        if ago >= chan.since:
            break
        days.append((ago, None))
    if chan.first_subject:
        days.append((chan.since, chan.first_subject))
    return days


def _subject_pool(spec: _Spec, chan: _Channel) -> Sequence[str]:
    if chan.work:
        return _SUBJECTS["work"]
    return _SUBJECTS.get(spec.circle, _SUBJECTS["friend"])


def _channel_mail(spec: _Spec, ci: int, clock: _Clock, seed: int) -> list[_Mail]:
    chan = spec.channels[ci]
    rng = random.Random(f"{seed}:{spec.key}:{ci}")
    them = (spec.name, chan.address)
    mails: list[_Mail] = []
    for ti, (ago, pinned) in enumerate(_thread_days(chan, rng)):
        subject = rng.choice(_subject_pool(spec, chan)) if pinned is None else pinned
        cc = ()
        if chan.cc and rng.random() < 0.25:
            other = _BY_KEY[rng.choice([k for k in _CC_POOL if k != spec.key])]
            cc = ((other.name, other.address),)
        plan = _ThreadPlan(
            key=f"{spec.key}/{ci}/{ti}", start=_sent_time(clock, rng, ago, chan.work),
            subject=subject, me=_me(chan.work), them=them, cc=cc,
            turns=(ti == 0 and chan.last_turns) or rng.choice(_SHAPES), reply_hours=(0.2, 2) if chan.work else (2, 30),
        )
        mails += _thread(plan, clock, rng, seed)
    return mails


def _sofia_mail(clock: _Clock, seed: int) -> list[_Mail]:
    """Three notes over 25 days in one thread, never answered: the ball is in my court."""
    spec = _BY_KEY["sofia"]
    them, subject = (spec.name, spec.address), spec.channels[0].subject
    bodies = ("We are redesigning onboarding and your talk on it stuck with me - could we "
              "borrow 30 minutes of your time?", "Just bumping this in case it got buried.",
              "Last nudge, promise - happy to work around your calendar.")
    mails: list[_Mail] = []
    for i, (ago, body) in enumerate(zip((25, 12, 3), bodies, strict=True)):
        previous = mails[-1] if mails else None
        mails.append(_Mail(
            when=clock.at(_weekday_on_or_before(clock.day(ago)), 14, 5 + i),
            sender=them, to=[_me(False)], subject=_reply_subject(subject) if i else subject,
            message_id=_msgid(seed, f"sofia/{i}"), body=body,
            in_reply_to=previous.message_id if previous else "",
            references=(*previous.references, previous.message_id) if previous else (),
        ))
    return mails


def _autoreply(to_mail: _Mail, sender: tuple[str, str], key: str, seed: int, minutes: int,
               prefix: str) -> _Mail:
    # RFC 3834: auto-replies say Auto-Submitted: auto-replied and reply to the original.
    return _Mail(
        when=to_mail.when + timedelta(minutes=minutes), sender=sender, to=[to_mail.sender],
        subject=f"{prefix}: {to_mail.subject}", message_id=_msgid(seed, key),
        body="I am away with limited access to email and will reply when I am back.",
        in_reply_to=to_mail.message_id, references=(to_mail.message_id,),
        extra={"Auto-Submitted": "auto-replied", "X-Autoreply": "yes"},
    )


def _kenji_autoreply(clock: _Clock, seed: int) -> list[_Mail]:
    kenji = _BY_KEY["kenji"]
    ask = _Mail(
        when=clock.at(_weekday_on_or_before(clock.day(32)), 11, 20), sender=_me(True),
        to=[(kenji.name, kenji.address)], subject="Can you cover on-call next Friday?",
        message_id=_msgid(seed, "kenji/oncall"), body="I'd owe you one.",
    )
    return [ask, _autoreply(ask, (kenji.name, kenji.address), "kenji/ooo", seed, 1,
                            "Automatic reply")]


_BBQ = ("mateo", "aisha", "noah", "yuki", "ingrid", "diego", "zara", "samuel", "lea", "camila",
        "wei", "amara", "emily", "sarah", "james")  # 15 recipients: too many to count


def _barbecue_mail(clock: _Clock, seed: int) -> list[_Mail]:
    guests = [(_BY_KEY[k].name, _BY_KEY[k].address) for k in _BBQ]
    invite = _Mail(
        when=clock.at(clock.day(9), 19, 12), sender=_me(False), to=guests,
        subject="Save the date: summer barbecue", message_id=_msgid(seed, "bbq/0"),
        body="Barbecue at ours on the 21st from 2pm - bring whoever you like!",
    )
    yuki = guests[_BBQ.index("yuki")]
    reply_all = _Mail(
        when=invite.when + timedelta(hours=1, minutes=7), sender=yuki,
        to=[_me(False)] + [g for g in guests if g != yuki], subject=_reply_subject(invite.subject),
        message_id=_msgid(seed, "bbq/1"), body="Wouldn't miss it! I'll bring the halloumi.",
        in_reply_to=invite.message_id, references=(invite.message_id,),
    )
    noah = guests[_BBQ.index("noah")]
    ooo = _autoreply(invite, noah, "bbq/ooo", seed, 2, "Out of office")
    return [invite, reply_all, ooo]


def _list_mail(clock: _Clock, seed: int) -> list[_Mail]:
    rng = random.Random(f"{seed}:list")
    diego = _BY_KEY["diego"]
    posters = [*LIST_MEMBERS, (diego.name, diego.address)]
    topics = ("Saturday at the Depot", "Anyone selling a 60m rope?", "Almscliff conditions",
              "Beginners night on Wednesday", "Car share to Stanage", "New routes at the wall")
    mails: list[_Mail] = []
    for i, ago in enumerate(range(720, 3, -45)):
        mails.append(_Mail(
            when=clock.at(clock.day(ago + rng.randint(0, 5)), rng.randint(8, 21), rng.randrange(60)),
            sender=posters[i % len(posters)], to=[LIST_ADDR],
            subject=f"[leeds-climbers] {topics[i % len(topics)]}",
            message_id=_msgid(seed, f"list/{i}"), body="Who's in? Reply to the list.",
            folder=".Lists",
            extra={"List-Id": LIST_ID, "List-Post": f"<mailto:{LIST_ADDR[1]}>",
                   "List-Unsubscribe": "<mailto:leeds-climbers-leave@lists.example.org>",
                   "Precedence": "list"},
        ))
    return mails


def _bulk_mail(clock: _Clock, seed: int) -> list[_Mail]:
    mails: list[_Mail] = []
    for name, addr, every, subject in NEWSLETTERS:
        for n, ago in enumerate(range(728, 1, -every)):
            mails.append(_Mail(
                when=clock.at(clock.day(ago), 7, 30), sender=(name, addr), to=[_me(False)],
                subject=f"{subject} (#{n + 1})", message_id=_msgid(seed, f"{addr}/{n}"),
                body="Read this issue online.",
                extra={"Precedence": "bulk",
                       "List-Unsubscribe": f"<https://{addr.split('@')[1]}/unsubscribe>"},
            ))
    for n, ago in enumerate(range(715, 1, -61)):
        mails.append(_Mail(
            when=clock.at(clock.day(ago), 6, 2), sender=NOREPLY, to=[_me(False)],
            subject="Your invoice is ready", message_id=_msgid(seed, f"noreply/{n}"),
            body="Your monthly invoice is available in your account.",
        ))
    return mails


def _all_mail(clock: _Clock, seed: int) -> list[_Mail]:
    mails: list[_Mail] = []
    for spec in ROSTER:
        if spec.key == "sofia":
            continue
        for ci in range(len(spec.channels)):
            mails += _channel_mail(spec, ci, clock, seed)
    mails += _sofia_mail(clock, seed) + _kenji_autoreply(clock, seed)
    mails += _barbecue_mail(clock, seed) + _list_mail(clock, seed) + _bulk_mail(clock, seed)
    return sorted(mails, key=lambda m: (m.when, m.message_id))


def _addresses(people: Iterable[tuple[str, str]]) -> str:
    return ", ".join(formataddr(p) for p in people)


def _header(name: str, value: str) -> str:
    """One field, folded before a space to keep lines near 78 octets (RFC 5322 2.2.3)."""
    lines = [f"{name}:"]
    for word in value.split(" ") if value else ():
        if len(lines[-1]) + 1 + len(word) > 78 and lines[-1] != f"{name}:":
            lines.append("")
        lines[-1] += " " + word
    return "\n".join(lines)


def _render_mail(mail: _Mail) -> bytes:
    # Rendered directly: EmailMessage.as_bytes() cost ~0.4 ms a message (over 0.5 s
    # for the world); formataddr and Header still do the RFC 2047 encoding, and
    # the tests parse every message back with email.policy.default.
    subject = mail.subject if mail.subject.isascii() else Header(mail.subject, "utf-8").encode()
    fields = [("From", formataddr(mail.sender)), ("To", _addresses(mail.to))]
    if mail.cc:
        fields.append(("Cc", _addresses(mail.cc)))
    fields += [("Subject", subject), ("Date", format_datetime(mail.when.astimezone(ZONE))),
               ("Message-ID", f"<{mail.message_id}>")]
    if mail.in_reply_to:
        fields += [("In-Reply-To", f"<{mail.in_reply_to}>"),
                   ("References", " ".join(f"<{r}>" for r in mail.references))]
    fields += list(mail.extra.items())
    fields += [("MIME-Version", "1.0"), ("Content-Type", 'text/plain; charset="utf-8"'),
               ("Content-Transfer-Encoding", "7bit")]  # bodies are ASCII by construction
    head = "\n".join(_header(n, v) for n, v in fields)
    return f"{head}\n\n{mail.body}\n".encode("ascii")


def _folder(mail: _Mail, anchor: datetime) -> str:
    if mail.folder is not None:
        return mail.folder
    if mail.sender[1] in (ME_PERSONAL, ME_WORK):
        return ".Sent"
    return "" if anchor - mail.when <= timedelta(days=30) else ".Archive"


def _maildir_files(mails: list[_Mail], anchor: datetime) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    for n, mail in enumerate(mails, start=1):
        folder = _folder(mail, anchor)
        name = f"{int(mail.when.timestamp())}.demo{n}.circleback:2,S"
        files["/".join(p for p in ("Mail", folder, "cur", name) if p)] = _render_mail(mail)
    return files


# --------------------------------------------------------------------------- calendar


@dataclass(frozen=True)
class _Event:
    uid: str
    summary: str
    start: datetime  # aware; ZONE → TZID=Europe/London, UTC → ...Z
    minutes: int
    organizer: tuple[str, str]
    attendees: tuple[tuple[str, str, str], ...]  # (name, address, PARTSTAT)
    status: str = "CONFIRMED"
    rrule: str = ""
    exdates: tuple[datetime, ...] = ()
    moved: tuple[tuple[datetime, datetime], ...] = ()  # (original start, new start)
    rooms: tuple[tuple[str, str], ...] = ()


def _who(key: str, partstat: str = "ACCEPTED") -> tuple[str, str, str]:
    """An attendee; "me" is my work calendar, "me/home" my personal one."""
    if key.startswith("me"):
        return (ME_NAME, ME_PERSONAL if key == "me/home" else ME_WORK, partstat)
    spec = _BY_KEY[key]
    return (spec.name, spec.address, partstat)


def _local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), ZONE)


def _one_on_ones(clock: _Clock) -> list[_Event]:
    priya_first = _weekday_on_or_before(clock.day(420), 1)  # Tuesdays
    skipped = _weekday_on_or_before(clock.day(42), 1)
    tomas_first = _weekday_on_or_before(clock.day(600), 3)  # Thursdays
    moved = _weekday_on_or_before(clock.day(21), 3)
    return [
        _Event("demo-1on1-priya", "Priya / Alex 1:1", _local(priya_first, 11, 30), 30,
               (ME_NAME, ME_WORK), (_who("me"), _who("priya")), rrule="FREQ=WEEKLY;BYDAY=TU",
               exdates=(_local(skipped, 11, 30),)),
        _Event("demo-1on1-tomas", "Alex <> Tomás weekly", _local(tomas_first, 15), 30,
               (_BY_KEY["tomas"].name, _BY_KEY["tomas"].address), (_who("tomas"), _who("me")),
               rrule="FREQ=WEEKLY;BYDAY=TH",
               moved=((_local(moved, 15), _local(moved + timedelta(days=1), 11)),)),
    ]


def _all_hands(clock: _Clock) -> _Event:
    colleagues = tuple(_who(s.key) for s in _COLLEAGUES)
    staff = tuple((n, a, "ACCEPTED") for n, a in STAFF)
    day = _weekday_on_or_before(clock.day(3))
    return _Event("demo-all-hands", "Company all-hands", _local(day, 16), 60, STAFF[0],
                  (_who("me"), *colleagues, *staff))  # 1 + 10 + 29 = 40 attendees


def _one_off_events(clock: _Clock) -> list[_Event]:
    wd = _weekday_on_or_before
    utc_day = wd(clock.day(6))
    return [
        _Event("demo-roadmap-review", "Roadmap review",
               datetime.combine(utc_day, time(13, 0), UTC), 45, _who("priya")[:2],
               (_who("priya"), _who("me"), _who("ben", "DECLINED"))),
        _Event("demo-catch-up-hamid", "Catch-up call", _local(wd(clock.day(10)), 17), 30,
               _who("hamid")[:2], (_who("hamid"), _who("me/home")), status="CANCELLED"),
        _Event("demo-coffee-zara", "Coffee with Zara", _local(clock.today + timedelta(4), 9,
               30), 45, _who("zara")[:2], (_who("zara"), _who("me/home"))),
        _Event("demo-mentoring-elena", "Mentoring session: career chat",
               datetime.combine(wd(clock.day(240)), time(16, 0), UTC), 60,
               (_BY_KEY["elena"].name, _BY_KEY["elena"].calendar_only),
               ((_BY_KEY["elena"].name, _BY_KEY["elena"].calendar_only, "ACCEPTED"),
                _who("me/home"))),
        _Event("demo-lunch-rafael", "Lunch at Dishoom", _local(wd(clock.day(330)), 12, 30),
               90, _who("me/home")[:2], (_who("me/home"), _who("rafael"))),
        _Event("demo-design-review", "Design review: importer v2",
               _local(wd(clock.day(14)), 14), 60, _who("kenji")[:2],
               (_who("kenji"), _who("fatima"), _who("arjun", "TENTATIVE"), _who("me")),
               rooms=(ROOM,)),
        _Event("demo-pairing-hannah", "Pairing on the importer",
               _local(wd(clock.day(25)), 10), 90, _who("hannah")[:2],
               (_who("hannah"), _who("me"))),
        _Event("demo-quarterly-planning", "Quarterly planning",
               _local(wd(clock.day(62)), 10), 120, _who("grace")[:2],
               (_who("grace"), _who("lukas"), _who("priya"), _who("me"))),
        _Event("demo-birthday-dinner", "Sarah's birthday dinner",
               _local(clock.day(100), 19), 150, _who("sarah")[:2],
               (_who("sarah"), _who("james"), _who("me/home"))),
    ]


_VTIMEZONE = """BEGIN:VTIMEZONE
TZID:Europe/London
BEGIN:DAYLIGHT
TZOFFSETFROM:+0000
TZOFFSETTO:+0100
TZNAME:BST
DTSTART:19810329T010000
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU
END:DAYLIGHT
BEGIN:STANDARD
TZOFFSETFROM:+0100
TZOFFSETTO:+0000
TZNAME:GMT
DTSTART:19961027T020000
RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU
END:STANDARD
END:VTIMEZONE""".splitlines()


def _ics_time(name: str, t: datetime) -> str:
    if t.tzinfo is UTC:
        return f"{name}:{t:%Y%m%dT%H%M%S}Z"
    return f"{name};TZID={ZONE_NAME}:{t:%Y%m%dT%H%M%S}"


def _ics_text(value: str) -> str:
    # RFC 5545 3.3.11: escape backslash, semicolon, comma and newlines in TEXT.
    return (value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
            .replace("\n", "\\n"))


def _fold(line: str) -> list[str]:
    """RFC 5545 3.1: lines of at most 75 octets, never splitting a UTF-8 character."""
    out, current, size = [], "", 0
    for ch in line:
        width = len(ch.encode())
        if size + width > 75:
            out.append(current)
            current, size = " ", 1
        current += ch
        size += width
    return [*out, current]


def _people_lines(event: _Event) -> list[str]:
    name, addr = event.organizer
    lines = [f'ORGANIZER;CN="{name}":mailto:{addr}']
    for name, addr, partstat in event.attendees:
        lines.append(f'ATTENDEE;CN="{name}";CUTYPE=INDIVIDUAL;ROLE=REQ-PARTICIPANT;'
                     f"PARTSTAT={partstat}:mailto:{addr}")
    for name, addr in event.rooms:
        lines.append(f'ATTENDEE;CN="{name}";CUTYPE=ROOM;ROLE=NON-PARTICIPANT;'
                     f"PARTSTAT=ACCEPTED:mailto:{addr}")
    return lines


def _vevent(event: _Event, start: datetime, anchor: datetime, *, recurrence_id: datetime | None
            = None) -> list[str]:
    stamp = min(start.astimezone(UTC) - timedelta(days=14), anchor)  # invited two weeks ahead
    lines = ["BEGIN:VEVENT", f"UID:{event.uid}@demo.example", f"DTSTAMP:{stamp:%Y%m%dT%H%M%S}Z",
             _ics_time("DTSTART", start),
             _ics_time("DTEND", start + timedelta(minutes=event.minutes)),
             f"SUMMARY:{_ics_text(event.summary)}", f"STATUS:{event.status}",
             f"SEQUENCE:{1 if recurrence_id or event.status == 'CANCELLED' else 0}"]
    if recurrence_id is not None:
        lines.append(_ics_time("RECURRENCE-ID", recurrence_id))
    elif event.rrule:
        lines.append(f"RRULE:{event.rrule}")
        lines += [_ics_time("EXDATE", t) for t in event.exdates]
    return [*lines, *_people_lines(event), "END:VEVENT"]


def _render_event(event: _Event, anchor: datetime) -> bytes:
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//circleback//demo world//EN",
             "CALSCALE:GREGORIAN"]
    if event.start.tzinfo is not UTC:
        lines += _VTIMEZONE
    lines += _vevent(event, event.start, anchor)
    for original, new_start in event.moved:
        lines += _vevent(event, new_start, anchor, recurrence_id=original)
    lines.append("END:VCALENDAR")
    folded = [part for line in lines for part in _fold(line)]
    return ("\r\n".join(folded) + "\r\n").encode()


def _all_events(clock: _Clock) -> list[_Event]:
    return [*_one_on_ones(clock), _all_hands(clock), *_one_off_events(clock)]


def _calendar_files(events: list[_Event], anchor: datetime) -> dict[str, bytes]:
    return {f"calendar/{e.uid}.ics": _render_event(e, anchor) for e in events}


# --------------------------------------------------------------------------- config


def _toml(value: Any) -> str:
    # JSON strings and arrays of strings are valid TOML basic strings and arrays.
    return json.dumps(value, ensure_ascii=False)


_PERSON_KEYS = ("group", "greet", "company", "title", "note", "offers", "seeks", "linkedin")


def _person_toml(spec: _Spec) -> list[str]:
    config = spec.config or {}
    lines = ["", "[[people]]", f"name = {_toml(spec.name)}", f"emails = {_toml(list(spec.emails))}"]
    return lines + [f"{key} = {_toml(config[key])}" for key in _PERSON_KEYS if key in config]


def _config_toml(root: Path) -> bytes:
    base = root.resolve()
    lines = [
        "# circleback demo world: made-up people, generated by circleback.daemon.demo_world.",
        "", "[me]", f"name = {_toml(ME_NAME)}", f"addresses = {_toml([ME_PERSONAL, ME_WORK])}",
        'signature = "Alex"', f"timezone = {_toml(ZONE_NAME)}",
        "", "[sync]", 'lookback = "3y"',
        "", "[[accounts]]", 'name = "mail"', 'kind = "maildir"',
        f"path = {_toml(str(base / 'Mail'))}",
        "", "[[accounts]]", 'name = "calendar"', 'kind = "ics"',
        f"path = {_toml(str(base / 'calendar'))}",
        "", "[cadence]", 'default = "quarterly"',
        'groups = { family = "2w", friends = "6w", colleagues = "monthly", mentors = "quarterly" }',
        "weights = { family = 2.0, mentors = 1.5 }",
        "", "[filters]", "max_thread_size = 10", "max_meeting_size = 8",
        "", "[drafting]", "budget_per_week = 5", 'quiet_hours = "21:00-07:00"',
        "", "[goals]", "people_per_month = 3",
    ]
    for spec in ROSTER:
        if spec.config is not None:
            lines += _person_toml(spec)
    return ("\n".join(lines) + "\n").encode()


# --------------------------------------------------------------------------- files


def _write_if_changed(path: Path, data: bytes) -> None:
    if path.is_file() and path.read_bytes() == data:
        return  # idempotent: a rebuild leaves files (and their mtimes) alone
    tmp = path.with_name(f".{path.name}.tmp")  # dot files are invisible to Maildir readers
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _prune(root: Path, keep: set[Path]) -> None:
    """Drop files an older build (another anchor) left, and nothing else."""
    for folder in MAIL_FOLDERS:
        for path in (root / "Mail" / folder / "cur").glob("*"):
            if _MAIL_NAME.match(path.name) and path not in keep:
                path.unlink()
    for path in (root / "calendar").glob("*.ics"):
        if _ICS_NAME.match(path.name) and path not in keep:
            path.unlink()


def _make_dirs(root: Path) -> None:
    for folder in MAIL_FOLDERS:
        for sub in ("cur", "new", "tmp"):
            (root / "Mail" / folder / sub).mkdir(parents=True, exist_ok=True)
        if folder:  # Maildir++ marks subfolders this way (Courier, Dovecot)
            _write_if_changed(root / "Mail" / folder / "maildirfolder", b"")
    (root / "calendar").mkdir(parents=True, exist_ok=True)


def _write_tree(root: Path, files: dict[str, bytes]) -> None:
    _make_dirs(root)
    keep = {root / rel for rel in files}
    _prune(root, keep)
    for rel, data in files.items():
        _write_if_changed(root / rel, data)


def _as_utc(anchor: datetime) -> datetime:
    if anchor.tzinfo is None or anchor.utcoffset() is None:
        raise ValueError("anchor must be an aware datetime, e.g. demo_anchor(date.today())")
    return anchor.astimezone(UTC)


def build_world(root: Path, *, anchor: datetime, seed: int = 7) -> DemoWorld:
    """Write the demo world under ``root`` and describe what circleback should make of it.

    Layout: ``root/Mail`` (Maildir++: INBOX, .Sent, .Archive, .Lists, empty
    .Drafts), ``root/calendar`` (one .ics per event) and ``root/config.toml``.
    Files whose bytes are already right are left alone; generated files an
    earlier build left for another anchor are removed; any other file (a draft
    circleback wrote, say) is kept.
    """
    root = Path(root)
    clock = _Clock(_as_utc(anchor))
    mails = _all_mail(clock, seed)
    events = _all_events(clock)
    files = _maildir_files(mails, clock.anchor)
    files.update(_calendar_files(events, clock.anchor))
    files["config.toml"] = _config_toml(root)
    _write_tree(root, files)
    return DemoWorld(
        root=root, maildir=root / "Mail", calendar=root / "calendar",
        config_path=root / "config.toml", people=demo_people(), anchor=clock.anchor, seed=seed,
        message_count=len(mails), event_count=len(events),
    )
