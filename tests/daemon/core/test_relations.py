"""What counts as being in touch (docs/DESIGN.md), and what the ledger keeps of it."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from circleback.connectors.base import Address, ResponseStatus, SyncResult
from circleback.daemon.config import Settings
from circleback.daemon.core.classify import Identity, is_role_address, mail_counterparts
from circleback.daemon.core.contacts import apply_people, contacts
from circleback.daemon.core.ingest import ingest_events, ingest_mail
from circleback.daemon.core.names import first_name_of, name_from_address
from circleback.daemon.store.ledger import SCHEMA_VERSION, Ledger
from tests.support.ledger_sql import raw_sql
from tests.support.records import ME, NOW, days_ago, mail, meeting


@pytest.fixture
def settings() -> Settings:
    return Settings.model_validate(
        {
            "me": {"addresses": [ME]},
            "filters": {"max_thread_size": 4, "max_meeting_size": 4, "ignore_domains": ["github.com"]},
        }
    )


@pytest.fixture
def who(settings: Settings) -> Identity:
    return Identity.from_settings(settings)


def by_email(ledger: Ledger, settings: Settings) -> dict[str, object]:
    return {e: c for c in contacts(ledger, settings, NOW) for e in c.emails}


@pytest.mark.parametrize(
    ("record", "channel", "people"),
    [
        (mail("a", sender=ME, to=("ann@x.example",), cc=("bo@x.example",)), "sent", ["ann@x.example", "bo@x.example"]),
        (mail("b", sender="ann@x.example"), "received", ["ann@x.example"]),
        (mail("c", sender="ann@x.example", list_id="<dev.lists.example>"), "mailing list", []),
        (mail("d", sender="ann@x.example", precedence="bulk"), "precedence bulk", []),
        (mail("e", sender="ann@x.example", auto_submitted="auto-replied"), "auto-submitted", []),
        (mail("f", sender="no-reply@shop.example"), "machine or own sender", []),
        (mail("g", sender="ann@x.example", to=("team@x.example",)), "not addressed to me", []),
        (mail("h", sender=ME, to=tuple(f"p{i}@x.example" for i in range(5))), "too many participants", []),
        (mail("i", sender="bot@github.com"), "machine or own sender", []),
        (mail("j", sender=ME, to=(ME,)), "sent", []),
        (mail("k", sender="ann@x.example", auto_submitted="no"), "received", ["ann@x.example"]),
        (mail("l", sender="ann@x.example", category="promotions"), "category promotions", []),
        # "do not reply" in other languages, and an organisation's communications office (a second review)
        (mail("m", sender="nao-responda@itau.example"), "machine or own sender", []),
        (mail("n", sender="ne-pas-repondre@sncf.example"), "machine or own sender", []),
        (mail("o", sender="comunicacao@causp.example"), "machine or own sender", []),
        # a newsletter that sets no List-Id or Precedence (two reviews saw them listed as people)
        (mail("p", sender="editor@irishtimes.example", list_unsubscribe="<https://x.example/u>"),
         "list-unsubscribe", []),
    ],
)
def test_what_counts_as_mail_contact(who: Identity, record, channel: str, people: list[str]) -> None:
    got_channel, got = mail_counterparts(record, who)
    assert got_channel == channel
    assert [a for a, _ in got] == people


def test_ledger_schema_and_pragmas(ledger: Ledger) -> None:
    c = raw_sql(ledger)
    assert ledger.schema_version == SCHEMA_VERSION
    assert c.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert c.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert c.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    tables = {r[0] for r in c.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"people", "addresses", "interactions", "cursors", "outbox", "intros"} <= tables


def test_the_ledger_file_is_private(tmp_path: Path) -> None:
    import stat

    ledger = Ledger.open(tmp_path / "state" / "l.db")
    with ledger.transaction():
        ledger.person_for_address("a@x.example")
    for f in (tmp_path / "state").iterdir():
        assert stat.S_IMODE(f.stat().st_mode) == 0o600, f
    assert stat.S_IMODE((tmp_path / "state").stat().st_mode) == 0o700


def test_reopening_does_not_migrate_again(tmp_path: Path) -> None:
    Ledger.open(tmp_path / "l.db").close()
    again = Ledger.open(tmp_path / "l.db")
    assert again.schema_version == SCHEMA_VERSION


def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    from circleback.daemon.errors import StateError

    first = Ledger.open(tmp_path / "l.db")
    raw_sql(first).execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    first.close()
    with pytest.raises(StateError, match="newer than this circleback"):
        Ledger.open(tmp_path / "l.db")


def test_mail_ingest_is_idempotent_and_keeps_last_per_channel(ledger, settings, who) -> None:
    records = [
        mail("m1", sender=ME, to=("ann@x.example",), when=days_ago(40)),
        mail("m2", sender="ann@x.example", when=days_ago(20)),
        mail("m3", sender=ME, to=("bo@x.example",), when=days_ago(3)),
    ]
    for _ in range(2):  # a re-sync of the same records changes nothing
        ingest_mail(ledger, "home", SyncResult(records, {"n": 1}), who)
    assert ledger.interaction_count() == 3
    people = by_email(ledger, settings)
    ann = people["ann@x.example"]
    assert ann.last_sent == days_ago(40).replace(microsecond=0)
    assert ann.last_received == days_ago(20).replace(microsecond=0)
    assert ann.ball_in_my_court
    assert not people["bo@x.example"].ball_in_my_court
    assert ledger.cursor("home", "mail") == {"n": 1}


def test_cursor_and_records_commit_together(ledger, who) -> None:
    bad = mail("x", sender="ann@x.example")
    object.__setattr__(bad, "timestamp", None)  # a broken record mid-batch
    with pytest.raises(Exception):  # noqa: B017 - any failure must roll back everything
        ingest_mail(ledger, "home", SyncResult([mail("ok", sender="bo@x.example"), bad], {"n": 2}), who)
    assert ledger.interaction_count() == 0
    assert ledger.cursor("home", "mail") is None


def test_meetings_count_only_when_both_attended(ledger, settings, who) -> None:
    events = [
        meeting("e1", "ann@x.example", when=days_ago(30)),
        meeting("e2", "bo@x.example", declined=("bo@x.example",)),
        meeting("e3", "cy@x.example", cancelled=True),
        meeting("e4", *(f"p{i}@x.example" for i in range(6)), title="All hands"),
        meeting("e5", "dee@x.example", rooms=("room-1@resource.example",)),
        meeting("e6", "eve@x.example", my_status=ResponseStatus.DECLINED),
        meeting("e7", "ann@x.example", when=days_ago(-3), title="Coffee"),  # upcoming
    ]
    ingest_events(ledger, "cal", SyncResult(events, {}), who)
    people = by_email(ledger, settings)
    assert set(people) == {"ann@x.example", "dee@x.example"}  # rooms are not people
    ann = people["ann@x.example"]
    assert ann.last_met == days_ago(30).replace(microsecond=0)
    assert ann.next_meeting == days_ago(-3).replace(microsecond=0)


def test_a_cancelled_or_changed_event_replaces_what_we_knew(ledger, settings, who) -> None:
    ingest_events(ledger, "cal", SyncResult([meeting("e1", "ann@x.example")], {}), who)
    assert by_email(ledger, settings)["ann@x.example"].last_met is not None
    ingest_events(ledger, "cal", SyncResult([meeting("e1", "ann@x.example", cancelled=True)], {}), who)
    assert by_email(ledger, settings)["ann@x.example"].last_met is None
    ingest_events(ledger, "cal", SyncResult([meeting("e1", "bo@x.example")], {}), who)
    people = by_email(ledger, settings)
    assert people["bo@x.example"].last_met is not None


def test_full_resync_forgets_the_accounts_old_meetings(ledger, settings, who) -> None:
    ingest_events(ledger, "cal", SyncResult([meeting("e1", "ann@x.example")], {}), who)
    ingest_events(ledger, "other", SyncResult([meeting("o1", "bo@x.example")], {}), who)
    ingest_events(ledger, "cal", SyncResult([], {"token": "new"}, full=True), who)
    people = by_email(ledger, settings)
    assert people["ann@x.example"].last_met is None
    assert people["bo@x.example"].last_met is not None


def test_a_full_mail_resync_keeps_the_contact_of_mail_deleted_since(ledger, settings, who) -> None:
    """Mail that was exchanged was contact: a resync that no longer finds a message (deleted,
    or gone from Trash) gives the last contact the incremental sync gave."""
    sent = mail("s1", sender=ME, to=("ann@x.example",), when=days_ago(40))
    reply = mail("r1", sender="ann@x.example", when=days_ago(20))
    ingest_mail(ledger, "home", SyncResult([sent, reply], {}), who)
    before = by_email(ledger, settings)["ann@x.example"]

    ingest_mail(ledger, "home", SyncResult([sent], {"history_id": "new"}, full=True), who)  # r1 deleted meanwhile

    after = by_email(ledger, settings)["ann@x.example"]
    assert (after.last_sent, after.last_received) == (before.last_sent, before.last_received)
    assert after.last_received == days_ago(20).replace(microsecond=0)


def test_configured_person_with_two_addresses_is_one_person(ledger, who) -> None:
    from circleback.daemon.core.contacts import apply_people

    ingest_mail(
        ledger,
        "home",
        SyncResult(
            [
                mail("m1", sender=ME, to=("sam@home.example",), when=days_ago(50)),
                mail("m2", sender="sam@work.example", when=days_ago(5)),
            ],
            {},
        ),
        who,
    )
    settings = Settings.model_validate(
        {
            "me": {"addresses": [ME]},
            "people": [{"name": "Sam Lee", "emails": ["sam@home.example", "sam@work.example"], "group": "friends"}],
        }
    )
    apply_people(ledger, settings)
    sam = [c for c in contacts(ledger, settings, NOW) if "sam@home.example" in c.emails]
    assert len(sam) == 1
    assert sam[0].emails == ["sam@home.example", "sam@work.example"]
    assert sam[0].display_name == "Sam Lee"
    assert sam[0].last_sent and sam[0].last_received
    assert ledger.interaction_count() == 2


@pytest.mark.parametrize(("name", "email", "first"), [
    ("Jo Park", "", "Jo"),
    ("Park, Jo", "", "Jo"),
    # An initial is never a name, with or without its dot; the address may still say it.
    ("Baker, J.", "jb@c.example", ""),
    ("Baker, J", "jb@c.example", ""),
    ("J. Park", "jpark@c.example", ""),
    ("J.R. Smith", "", ""),
    ("J. Park", "jo.park@c.example", "Jo"),
    # Capitals are title-cased; mixed case is kept as the person writes it.
    ("KIM PARK", "", "Kim"),
    ("KIM Park", "", "Kim"),
    ("Park, KIM", "", "Kim"),
    ("ANNA-LENA BERG", "", "Anna-Lena"),
    ("McKenzie Ross", "", "McKenzie"),
    ("DeShawn Lee", "", "DeShawn"),
    ("AJ Smith", "", "AJ"),
    # A role, a team or a company is nobody's first name.
    ("The Acme Team", "", ""),
    ("Acme Support", "", ""),
    ("Smith Family", "", ""),
    ("HR", "", ""),
    ("Acme, Inc.", "", ""),
    ("Steve Jobs", "", "Steve"),  # a role word as a surname is still a surname
    ("hr.dept@c.example", "", ""),
    ("Jo.Park", "", "Jo"),  # a local part shown as a display name
    # Two given names the address joins (a blind review: "Hi Mei" to Mei Lin Chow at meilin.chow@).
    ("Mei Lin Chow", "meilin.chow@c.example", "Mei Lin"),
    ("José María García", "josemaria.garcia@c.example", "José María"),
    ("Mei Lin Chow", "mchow@c.example", "Mei"),
    # Family name first (a third review: "Hey Lee," to the CEO, "Hi Kim," to the user's brother).
    ("Lee Seung-hoon", "ceo@nimbus.example", "Seung-hoon"),
    ("Kim Ji-woo", "", "Ji-woo"),
    ("Wang Xiaoming", "xiaoming.wang@c.example", "Xiaoming"),
    ("Lee Smith-Jones", "", "Lee"),  # a Western double-barrelled surname
    ("Kim Park", "", "Kim"),
    # Vietnamese order (a seventh review: "Hey Phạm," to Phạm Văn Kiên).
    ("Phạm Văn Kiên", "", "Kiên"),
    ("Nguyen Van Nam", "", "Nam"),
    ("Linh Nguyen", "", "Linh"),  # written the Western way
    ("Mai Tran", "", "Mai"),
])
def test_first_name_of(name: str, email: str, first: str) -> None:
    assert first_name_of(name, email) == first


@pytest.mark.parametrize(("email", "first"), [
    ("jo.park@x.example", "Jo"), ("hr.dept@c.example", ""), ("the.team@c.example", ""),
    ("press.office@c.example", ""), ("sales_team@c.example", ""), ("steve.jobs@c.example", "Steve"),
    ("j.park@x.example", ""), ("KIM.PARK@x.example", "Kim"),
    # Enron's shift, desk and test mailboxes: "Hello Shift," greeted nobody.
    ("shift.dl-portland@enron.com", ""), ("shift.portland@enron.com", ""), ("portland.shift@enron.com", ""),
    ("test.volume@enron.com", ""), ("ops_desk@c.example", ""), ("friedrich.list@c.example", "Friedrich"),
])
def test_name_from_address(email: str, first: str) -> None:
    assert name_from_address(email) == first


def test_a_contact_named_by_initial_has_no_first_name(ledger, settings, who) -> None:
    record = mail("m1", sender="jb@c.example", when=days_ago(5))
    record = dataclasses.replace(record, sender=Address("jb@c.example", "Baker, J."))
    ingest_mail(ledger, "home", SyncResult([record], {}), who)
    assert by_email(ledger, settings)["jb@c.example"].first_name == ""


@pytest.mark.parametrize(("email", "role"), [
    ("shift.dl-portland@enron.com", True), ("shift.portland@enron.com", True), ("portland.shift@enron.com", True),
    ("test.volume@enron.com", True), ("help@enrononline.com", True), ("9099632747@airmessage.net", True),
    ("dl-portland@enron.com", True), ("dl.traders@enron.com", True), ("do-not-reply@x.example", True),
    ("HelpDesk@X.example", True), ("555-123-4567@txt.example", True),
    ("jo.park@x.example", False), ("steve.jobs@c.example", False), ("friedrich.list@c.example", False),
    ("anna+alerts@x.example", False), ("o'neill@x.example", False), ("jsmith1987@x.example", False),
    ("12345678@qq.com", False),  # a QQ number is a person's own account
])
def test_is_role_address(email: str, role: bool) -> None:
    assert is_role_address(email) is role


ROLE_MAILBOXES = ("shift.dl-portland@enron.com", "test.volume@enron.com", "9099632747@airmessage.net")


def test_role_mailboxes_never_become_people(ledger, settings, who) -> None:
    records = [
        mail("m1", sender=ME, to=("ann@x.example", *ROLE_MAILBOXES[:2]), when=days_ago(9)),
        mail("m2", sender=ME, to=(ROLE_MAILBOXES[2],), when=days_ago(8)),
        mail("m3", sender="help@enrononline.com", when=days_ago(7)),
    ]
    counts = ingest_mail(ledger, "home", SyncResult(records, {}), who)
    assert set(by_email(ledger, settings)) == {"ann@x.example"}
    assert counts.counted == 1
    ingest_events(ledger, "cal", SyncResult([meeting("e1", "portland.shift@enron.com")], {}), who)
    assert set(by_email(ledger, settings)) == {"ann@x.example"}


def test_a_role_mailbox_under_people_is_a_person(ledger) -> None:
    settings = Settings.model_validate(
        {"me": {"addresses": [ME]}, "people": [{"name": "Portland Shift", "emails": ["Shift.Portland@enron.com"]}]}
    )
    ingest_mail(
        ledger, "home", SyncResult([mail("m1", sender=ME, to=("shift.portland@enron.com",))], {}),
        Identity.from_settings(settings),
    )
    shift = by_email(ledger, settings)["shift.portland@enron.com"]
    assert shift.last_sent is not None and shift.tracked


def named(record, name: str):
    return dataclasses.replace(record, sender=Address(record.sender.email, name))


def test_the_newest_display_name_wins_whatever_the_provider_order(ledger, settings, who) -> None:
    # Gmail lists newest first: the old name must not be the one kept.
    records = [
        named(mail("new", sender="anna@x.example", when=days_ago(2)), "Anna Berg-Lund"),
        named(mail("old", sender="anna@x.example", when=days_ago(300)), "Anna Berg"),
        named(mail("bare", sender="anna@x.example", when=days_ago(1)), ""),  # a bare address erases nothing
    ]
    ingest_mail(ledger, "home", SyncResult(records, {}), who)
    assert by_email(ledger, settings)["anna@x.example"].display_name == "Anna Berg-Lund"
    assert ledger.interaction_count() == 3


def test_the_newest_meeting_gives_the_attendee_name(ledger, settings, who) -> None:
    new, old = meeting("e2", "bo@x.example", when=days_ago(3)), meeting("e1", "bo@x.example", when=days_ago(90))
    rename = {"bo@x.example": "Bo Chen"}
    new = dataclasses.replace(
        new, attendees=tuple(dataclasses.replace(a, name=rename.get(a.email, a.name)) for a in new.attendees)
    )
    ingest_events(ledger, "cal", SyncResult([new, old], {}), who)
    assert by_email(ledger, settings)["bo@x.example"].display_name == "Bo Chen"


@pytest.mark.parametrize(("header", "shown"), [
    ("García, José", "José García"), ("Park, Jo", "Jo Park"), ("Acme, Inc.", "Acme, Inc."), ("Jo Park", "Jo Park"),
])
def test_a_last_first_name_is_shown_first_last(header: str, shown: str) -> None:
    from circleback.daemon.core.names import natural_order

    assert natural_order(header) == shown


LIST = "leeds-climbers@groups.example"


def _post_to_the_list(n: int, when) -> object:  # noqa: ANN001 - my Sent copy: no List-Id on it
    return mail(f"post-{n}", sender=ME, to=(LIST,), when=when, subject="Saturday at the crag?")


def _from_the_list(n: int, when) -> object:  # noqa: ANN001 - a reply on the list, a person in Cc
    return mail(f"list-{n}", sender="alice@x.example", to=(LIST,), cc=("bob@x.example",), when=when,
                subject="Re: Saturday at the crag?", list_id="Leeds Climbers <leeds-climbers.groups.example>")


@pytest.mark.parametrize("list_mail_first", [True, False])
def test_a_mailing_list_i_post_to_is_no_person(ledger, settings, who, list_mail_first: bool) -> None:
    posts = [_post_to_the_list(1, days_ago(60)), _post_to_the_list(2, days_ago(30))]
    replies = [_from_the_list(1, days_ago(59))]
    for batch in ([replies, posts] if list_mail_first else [posts, replies]):
        ingest_mail(ledger, "home", SyncResult(batch, {"n": 1}), who)
    people = {e for c in contacts(ledger, settings, NOW) for e in c.emails}
    assert LIST not in people  # learned from the List-Id, whichever came first
    assert ledger.list_addresses() == {LIST}  # the person in Cc of a reply is not the list
    later = Identity.from_settings(settings)  # a later cycle's identity, with what the ledger learned
    ingest_mail(ledger, "home", SyncResult([_post_to_the_list(3, days_ago(1))], {"n": 2}), later)
    assert LIST in later.lists and LIST not in {e for c in contacts(ledger, settings, NOW) for e in c.emails}


def test_a_list_named_under_people_stays_a_person(ledger, who) -> None:
    s = Settings.model_validate({"me": {"name": "Me", "addresses": [ME]},
                                 "people": [{"name": "Leeds Climbers", "emails": [LIST]}]})
    configured = Identity.from_settings(s)
    apply_people(ledger, s)
    ingest_mail(ledger, "home", SyncResult([_from_the_list(1, days_ago(5)), _post_to_the_list(1, days_ago(4))],
                                           {"n": 1}), configured)
    assert LIST in {e for c in contacts(ledger, s, NOW) for e in c.emails}
