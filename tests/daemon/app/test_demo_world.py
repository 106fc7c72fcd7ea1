"""The demo world: deterministic, well-formed, and what it claims to be.

The last tests re-derive every person's status from the generated files with a
small reference reading of docs/DESIGN.md ("What counts as being in touch"), so the
``expected_status`` the demo advertises cannot drift from the data.
"""

from __future__ import annotations

import re
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage, Message
from email.parser import BytesHeaderParser, BytesParser
from email.policy import default
from email.utils import getaddresses, parsedate_to_datetime
from pathlib import Path

import icalendar
import pytest
import recurring_ical_events

from circleback.daemon.app.demo_world import ME_PERSONAL, ME_WORK, STAFF, STATUSES, DemoWorld, build_world, demo_anchor
from circleback.daemon.config import Settings, load_settings

ANCHOR = demo_anchor(date(2025, 6, 18))  # a Wednesday in summer time
ME = {ME_PERSONAL, ME_WORK}
MAIL_NAME = re.compile(r"^(\d+)\.demo\d+\.circleback:2,S$")


def _tree(root: Path) -> dict[str, bytes]:
    """Every file under root, config paths normalised so two roots compare equal."""
    out = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        data = path.read_bytes()
        if path.name == "config.toml":
            data = data.replace(str(root.resolve()).encode(), b"<ROOT>")
        out[path.relative_to(root).as_posix()] = data
    return out


def _mail_files(world: DemoWorld) -> list[Path]:
    return sorted(world.maildir.rglob("cur/*"))


def _parse(path: Path) -> EmailMessage:
    with path.open("rb") as fh:
        return BytesParser(policy=default).parse(fh)  # type: ignore[return-value]


def _calendars(world: DemoWorld) -> list[icalendar.Calendar]:
    return [icalendar.Calendar.from_ical(p.read_bytes()) for p in sorted(world.calendar.iterdir())]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> DemoWorld:
    return build_world(tmp_path_factory.mktemp("demo"), anchor=ANCHOR)


@pytest.fixture(scope="module")
def parsed(world: DemoWorld) -> list[tuple[Path, EmailMessage]]:
    return [(p, _parse(p)) for p in _mail_files(world)]


# --------------------------------------------------------------------------- determinism


def test_same_inputs_give_byte_identical_trees(tmp_path: Path) -> None:
    a = build_world(tmp_path / "a", anchor=ANCHOR)
    b = build_world(tmp_path / "b", anchor=ANCHOR)
    tree_a, tree_b = _tree(a.root), _tree(b.root)
    assert len(tree_a) > 500
    assert tree_a == tree_b
    assert a.people == b.people


def test_another_seed_gives_another_world(tmp_path: Path) -> None:
    a = build_world(tmp_path / "a", anchor=ANCHOR, seed=7)
    b = build_world(tmp_path / "b", anchor=ANCHOR, seed=8)
    assert _tree(a.root) != _tree(b.root)


def test_rebuild_in_place_changes_nothing(tmp_path: Path) -> None:
    build_world(tmp_path, anchor=ANCHOR)
    before = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in tmp_path.rglob("*") if p.is_file()}
    build_world(tmp_path, anchor=ANCHOR)
    after = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in tmp_path.rglob("*") if p.is_file()}
    assert after == before


def test_rebuild_for_a_new_anchor_prunes_only_its_own_files(tmp_path: Path) -> None:
    build_world(tmp_path / "w", anchor=ANCHOR)
    draft = tmp_path / "w/Mail/.Drafts/cur/1750000000.M1P1.host:2,D"  # what circleback writes
    draft.write_bytes(b"Subject: a draft\n\nhi\n")
    own_event = tmp_path / "w/calendar/holidays.ics"
    own_event.write_bytes(b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n")
    later = ANCHOR + timedelta(days=3)
    build_world(tmp_path / "w", anchor=later)
    build_world(tmp_path / "fresh", anchor=later)
    kept = {draft.relative_to(tmp_path / "w").as_posix(), "calendar/holidays.ics"}
    moved = {k: v for k, v in _tree(tmp_path / "w").items() if k not in kept}
    assert moved == _tree(tmp_path / "fresh")
    assert draft.exists() and own_event.exists()


def test_a_naive_anchor_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="aware"):
        build_world(tmp_path, anchor=datetime(2025, 6, 18, 10))


def test_build_is_fast(tmp_path: Path) -> None:
    # Typically 0.15-0.3 s, most of it creating ~850 small files. The best of
    # three fresh builds keeps a neighbour's burst of disk I/O from failing us.
    timings = []
    for n in range(3):
        started = time.perf_counter()
        build_world(tmp_path / str(n), anchor=ANCHOR)
        timings.append(time.perf_counter() - started)
    assert min(timings) < 0.5


# --------------------------------------------------------------------------- well-formed


def test_maildir_layout(world: DemoWorld) -> None:
    for folder in ("", ".Sent", ".Archive", ".Lists", ".Drafts"):
        for sub in ("cur", "new", "tmp"):
            assert (world.maildir / folder / sub).is_dir()
    assert not any((world.maildir / ".Drafts").rglob("cur/*"))
    assert all(MAIL_NAME.match(p.name) for p in _mail_files(world))


def test_every_message_parses_with_its_core_headers(parsed: list[tuple[Path, EmailMessage]]) -> None:
    ids = set()
    for path, msg in parsed:
        assert not msg.defects, path
        for name in ("From", "To", "Date", "Message-ID", "Subject"):
            assert name in msg, (path, name)
        when = parsedate_to_datetime(str(msg["Date"]))
        assert when.tzinfo is not None and when < ANCHOR
        assert int(MAIL_NAME.match(path.name).group(1)) == int(when.timestamp())  # type: ignore[union-attr]
        assert str(msg["Message-ID"]).endswith("@demo.example>")
        ids.add(str(msg["Message-ID"]))
        assert msg.get_content().strip()
    assert len(ids) == len(parsed)


def test_replies_point_at_messages_that_exist(parsed: list[tuple[Path, EmailMessage]]) -> None:
    msgs = [m for _, m in parsed]
    ids = {str(m["Message-ID"]) for m in msgs}
    replies = [m for m in msgs if m["In-Reply-To"]]
    assert len(replies) > 100
    for m in replies:
        assert str(m["In-Reply-To"]) in ids
        assert str(m["References"]).split()[-1] == str(m["In-Reply-To"])


def test_non_ascii_names_round_trip(parsed: list[tuple[Path, EmailMessage]]) -> None:
    names = {a.display_name for _, m in parsed for a in m["From"].addresses}
    assert {"Tomás Herrera", "Léa Dubois", "Mateo García", "Inês Carvalho"} <= names


def test_every_calendar_file_parses(world: DemoWorld) -> None:
    files = sorted(world.calendar.iterdir())
    assert len(files) >= 10
    for path in files:
        raw = path.read_bytes()
        assert all(len(line) <= 75 for line in raw.split(b"\r\n")), path
        cal = icalendar.Calendar.from_ical(raw)
        for ev in cal.walk("VEVENT"):
            for prop in ("UID", "DTSTAMP", "DTSTART", "DTEND", "SUMMARY", "ORGANIZER"):
                assert prop in ev, (path, prop)
            attendees = ev.get("ATTENDEE")
            attendees = attendees if isinstance(attendees, list) else [attendees]
            assert all(a.params.get("CN") and a.params.get("PARTSTAT") for a in attendees)


def test_recurring_one_on_ones_have_a_skip_and_a_move(world: DemoWorld) -> None:
    raw = b"".join(p.read_bytes() for p in world.calendar.glob("demo-1on1-*.ics"))
    assert raw.count(b"RRULE:FREQ=WEEKLY") == 2
    assert b"EXDATE;TZID=Europe/London:" in raw
    assert b"RECURRENCE-ID;TZID=Europe/London:" in raw
    assert b"BEGIN:VTIMEZONE" in raw


def test_config_validates(world: DemoWorld) -> None:
    settings = load_settings(world.config_path, environ=False)
    assert settings.me.addresses == [ME_PERSONAL, ME_WORK]
    assert settings.me.timezone == "Europe/London"
    assert {a.kind for a in settings.accounts} == {"maildir", "ics"}
    assert Path(settings.account("mail").path) == world.maildir.resolve()
    assert Path(settings.account("calendar").path) == world.calendar.resolve()
    assert settings.cadence.groups["family"] == timedelta(days=14)
    assert settings.filters.max_meeting_size == 8
    assert settings.drafting.budget_per_week == 5
    assert 12 <= len(settings.people) <= 20
    offers = {t for p in settings.people for t in p.offers}
    seeks = {t for p in settings.people for t in p.seeks}
    assert {"seed funding", "ux research"} <= offers & seeks
    assert sum(p.note != "" for p in settings.people) >= 6
    assert all(p.linkedin.startswith("https://www.linkedin.com/in/") for p in settings.people if p.linkedin)


def test_the_typical_anchor_is_outside_quiet_hours(world: DemoWorld) -> None:
    settings = load_settings(world.config_path, environ=False)
    quiet = settings.drafting.quiet_hours
    assert quiet is not None
    for day in (date(2025, 1, 15), date(2025, 6, 18)):
        local = demo_anchor(day).astimezone(settings.me.zone)
        assert local.hour == 10 and not quiet.contains(local.time())


# --------------------------------------------------------------------------- the world


def test_about_forty_people_over_two_years(world: DemoWorld, parsed: list[tuple[Path, EmailMessage]]) -> None:
    real = [p for p in world.people if p.expected_status != "noise"]
    assert 38 <= len(real) <= 42
    assert {p.expected_status for p in world.people} <= set(STATUSES)
    dates = [parsedate_to_datetime(str(m["Date"])) for _, m in parsed]
    assert min(dates) <= ANCHOR - timedelta(days=730)
    assert max(dates) > ANCHOR - timedelta(days=7)
    assert any(len(p.emails) == 2 for p in real)


def test_the_noise_is_there_with_its_headers(world: DemoWorld, parsed: list[tuple[Path, EmailMessage]]) -> None:
    msgs = parsed
    lists = [m for p, m in msgs if m["List-Id"]]
    assert lists and all(".Lists" in p.parts for p, m in msgs if m["List-Id"])
    bulk = {m["From"].addresses[0].addr_spec for _, m in msgs if m["Precedence"] == "bulk" and m["List-Unsubscribe"]}
    assert len(bulk) == 2
    auto = [m for _, m in msgs if m["Auto-Submitted"] == "auto-replied"]
    assert len(auto) >= 2 and any(str(m["Subject"]).startswith("Out of office") for m in auto)
    assert any(str(m["From"]).endswith("<noreply@service.example>") for _, m in msgs)
    assert any(len(m["To"].addresses) + len(m["Cc"].addresses if m["Cc"] else ()) >= 15 for _, m in msgs)
    events = [e for cal in _calendars(world) for e in cal.walk("VEVENT")]
    assert any(str(e.get("STATUS")) == "CANCELLED" for e in events)
    sizes = [len(e.get("ATTENDEE")) for e in events if isinstance(e.get("ATTENDEE"), list)]
    assert max(sizes) == 40
    assert any(a.params.get("PARTSTAT") == "DECLINED" for e in events for a in e.get("ATTENDEE"))


# --------------------------------------------------------------------------- statuses


@dataclass
class _Ledger:
    """What a reader of docs/DESIGN.md's rules keeps per address."""

    sent: dict[str, datetime] = field(default_factory=dict)
    received: dict[str, datetime] = field(default_factory=dict)
    met: dict[str, datetime] = field(default_factory=dict)
    upcoming: set[str] = field(default_factory=set)
    hooks: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))

    def touch(self, kind: dict[str, datetime], addr: str, when: datetime, hook: str) -> None:
        kind[addr] = max(when, kind.get(addr, when))
        hook = re.sub(r"^((re|fwd?):\s*)+", "", hook, flags=re.I).strip()
        if hook:
            self.hooks[addr].add(hook)


def _is_noise(msg: Message, sender: str) -> bool:
    return bool(
        msg["List-Id"]
        or str(msg.get("Precedence", "")).lower() in {"bulk", "list", "junk"}
        or str(msg.get("Auto-Submitted", "no")).lower() != "no"
        or sender.split("@")[0] in {"noreply", "no-reply", "donotreply"}
    )


def _read_mail(ledger: _Ledger, world: DemoWorld, max_thread: int, filters: bool) -> None:
    for path in _mail_files(world):
        with path.open("rb") as fh:
            msg = BytesHeaderParser().parse(fh)  # headers only, as circleback reads mail
        sender = getaddresses([str(msg["From"])])[0][1].lower()
        rcpt = [a.lower() for _, a in getaddresses([str(msg["To"]), str(msg.get("Cc", ""))]) if a]
        if filters and (_is_noise(msg, sender) or len({sender, *rcpt}) > max_thread):
            continue
        when = parsedate_to_datetime(str(msg["Date"])).astimezone(UTC)
        subject = str(msg["Subject"])
        if sender in ME:
            for addr in set(rcpt) - ME:
                ledger.touch(ledger.sent, addr, when, subject)
        elif ME & set(rcpt):
            ledger.touch(ledger.received, sender, when, subject)


def _read_calendar(ledger: _Ledger, world: DemoWorld, settings: Settings, filters: bool) -> None:
    anchor, window = world.anchor, settings.drafting.upcoming_window
    for cal in _calendars(world):
        for ev in recurring_ical_events.of(cal).between(anchor - timedelta(days=1100), anchor + timedelta(days=60)):
            raw = ev.get("ATTENDEE")
            people = {
                str(a).removeprefix("mailto:").lower(): a.params.get("PARTSTAT")
                for a in (raw if isinstance(raw, list) else [raw])
                if a.params.get("CUTYPE", "INDIVIDUAL") not in {"ROOM", "RESOURCE"}
            }
            if filters and (
                str(ev.get("STATUS")) == "CANCELLED"
                or len(people) > settings.filters.max_meeting_size
                or "DECLINED" in {people.get(a) for a in ME}
            ):
                continue
            start = ev.decoded("DTSTART").astimezone(UTC)
            for addr, partstat in people.items():
                if addr in ME or (filters and partstat == "DECLINED"):
                    continue
                if start < anchor:
                    ledger.touch(ledger.met, addr, start, str(ev.get("SUMMARY")))
                elif start <= anchor + window:
                    ledger.upcoming.add(addr)


def _ledger(world: DemoWorld, settings: Settings, *, filters: bool = True) -> _Ledger:
    ledger = _Ledger()
    _read_mail(ledger, world, settings.filters.max_thread_size, filters)
    _read_calendar(ledger, world, settings, filters)
    return ledger


def _status(emails: tuple[str, ...], ledger: _Ledger, settings: Settings, anchor: datetime) -> str:
    person = next((p for p in settings.people if set(p.emails) & set(emails)), None)
    group = person.group if person else ""
    cadence = (person and person.cadence) or settings.cadence.groups.get(group, settings.cadence.default)
    sent = max((ledger.sent[a] for a in emails if a in ledger.sent), default=None)
    received = max((ledger.received[a] for a in emails if a in ledger.received), default=None)
    met = max((ledger.met[a] for a in emails if a in ledger.met), default=None)
    last = max((t for t in (sent, received, met) if t), default=None)
    if last is None or last + cadence <= anchor:
        if set(emails) & ledger.upcoming:
            return "upcoming-meeting"
        hooked = (person and person.note) or any(ledger.hooks.get(a) for a in emails)
        return "due" if hooked else "needs-note"
    if received and (sent is None or received > sent):
        return "ball-in-court"
    return "recent"


def _statuses(world: DemoWorld, *, filters: bool = True) -> dict[str, str]:
    settings = load_settings(world.config_path, environ=False)
    ledger = _ledger(world, settings, filters=filters)
    return {
        p.name: _status(p.emails, ledger, settings, world.anchor) for p in world.people if p.expected_status != "noise"
    }


ANCHORS = [
    (ANCHOR, 7),
    (demo_anchor(date(2026, 3, 29)), 7),  # a Sunday, the day the clocks go forward
    (demo_anchor(date(2024, 12, 25)), 11),  # winter, another seed
    (datetime(2025, 10, 27, 23, 45, tzinfo=UTC), 3),  # late evening, just after clocks go back
]


@pytest.mark.parametrize(("anchor", "seed"), ANCHORS)
def test_expected_statuses_follow_the_design_rules(tmp_path: Path, anchor: datetime, seed: int) -> None:
    world = build_world(tmp_path, anchor=anchor, seed=seed)
    expected = {p.name: p.expected_status for p in world.people if p.expected_status != "noise"}
    assert _statuses(world) == expected


def test_noise_never_counts_as_being_in_touch(world: DemoWorld) -> None:
    settings = load_settings(world.config_path, environ=False)
    ledger = _ledger(world, settings)
    counted = set(ledger.sent) | set(ledger.received) | set(ledger.met)
    real = {a for p in world.people if p.expected_status != "noise" for a in p.emails}
    assert counted == real
    noise = {a for p in world.people if p.expected_status == "noise" for a in p.emails}
    assert not counted & (noise | {a for _, a in STAFF})


def test_the_traps_are_load_bearing(world: DemoWorld) -> None:
    """Counting noise, big threads, cancelled or declined meetings changes who is due."""
    careless = _statuses(world, filters=False)
    flipped = {n for n, s in careless.items() if s != next(p.expected_status for p in world.people if p.name == n)}
    assert {"Mateo García", "Noah Williams", "James Morgan", "Lukas Becker", "Ben Cohen", "Hamid Rezaei"} <= flipped


def test_two_addresses_are_one_person(world: DemoWorld) -> None:
    settings = load_settings(world.config_path, environ=False)
    ledger = _ledger(world, settings)
    chiara = next(p for p in world.people if p.name == "Chiara Rossi")
    work, personal = chiara.emails
    assert chiara.expected_status == "recent"
    assert _status((work,), ledger, settings, world.anchor) == "due"  # were she split in two
    assert ledger.received[work] and ledger.received[personal]


def test_enough_drafts_and_one_person_needing_a_note(world: DemoWorld) -> None:
    due = world.with_status("due")
    assert len([p for p in due if p.hook]) >= 3
    assert [p.name for p in world.with_status("needs-note")] == ["Olivia Brown"]
    assert [p.name for p in world.with_status("upcoming-meeting")] == ["Zara Ahmed"]
    assert [p.name for p in world.with_status("ball-in-court")] == ["Sofia Lindqvist"]
    assert all(p.why for p in world.people)
