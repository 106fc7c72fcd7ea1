"""Small builders for records, shared by the engine tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from circleback.connectors.base import (
    Address,
    Attendee,
    Direction,
    EventRecord,
    MailRecord,
    ResponseStatus,
)

ME = "me@example.org"
NOW = datetime(2026, 6, 15, 10, 0, tzinfo=UTC)


def days_ago(n: float) -> datetime:
    return NOW - timedelta(days=n)


def mail(
    source_id: str,
    *,
    sender: str,
    to: tuple[str, ...] = (ME,),
    cc: tuple[str, ...] = (),
    when: datetime | None = None,
    subject: str = "Lunch next week?",
    **noise: str,
) -> MailRecord:
    direction = Direction.SENT if sender == ME else Direction.RECEIVED
    return MailRecord(
        source_id=source_id,
        timestamp=when or days_ago(10),
        direction=direction,
        sender=Address(sender, sender.split("@")[0].title()),
        to=tuple(Address(a, a.split("@")[0].title()) for a in to),
        cc=tuple(Address(a) for a in cc),
        subject=subject,
        message_id=source_id,
        thread_id=source_id,
        **noise,  # type: ignore[arg-type]
    )


def meeting(
    uid: str,
    *people: str,
    when: datetime | None = None,
    title: str = "Roadmap review",
    declined: tuple[str, ...] = (),
    cancelled: bool = False,
    rooms: tuple[str, ...] = (),
    my_status: ResponseStatus = ResponseStatus.ACCEPTED,
) -> EventRecord:
    start = when or days_ago(5)
    attendees = [Attendee(ME, "Me", my_status)]
    attendees += [
        Attendee(p, p.split("@")[0].title(), ResponseStatus.DECLINED if p in declined else ResponseStatus.ACCEPTED)
        for p in people
    ]
    attendees += [Attendee(r, r, ResponseStatus.ACCEPTED, is_resource=True) for r in rooms]
    return EventRecord(
        source_id=uid,
        uid=uid,
        start=start,
        end=start + timedelta(hours=1),
        title=title,
        attendees=tuple(attendees),
        cancelled=cancelled,
        my_status=my_status,
    )
