"""From a planned note to the bytes of a safe draft.

The template sees a plain, read-only context (templates render in an
immutable sandbox); the message is built by :mod:`message`, which strips
control characters from every header and re-parses what it wrote.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from circleback.connectors.base import Address

from .config import Settings
from .errors import DraftBuildError
from .ledger import Ledger, iso
from .message import build_draft, new_message_id
from .planner import PlannedNote, Standing, strip_reply_prefix
from .templating import RenderedNote, TemplateRenderer

TEMPLATES = {"checkin": "checkin.txt.j2"}


@dataclass(frozen=True, slots=True)
class Draft:
    note: PlannedNote
    recipient: Address
    rendered: RenderedNote
    message_id: str
    message: bytes


def _first_name(name: str, email: str = "") -> str:
    name = name.strip().strip('"')
    if "," in name:  # "Hörst, Kenny"
        name = name.split(",", 1)[1].strip()
    if name:
        return name.split()[0]
    return email.split("@", 1)[0].split(".")[0].capitalize()


def recipient_of(standing: Standing) -> Address:
    c = standing.contact
    email = c.profile.emails[0] if c.profile and c.profile.emails else c.emails[0]
    return Address(email=email, name=c.display_name if c.display_name != email else "")


def _last(ledger: Ledger, person_id: int, channels: tuple[str, ...], now: datetime) -> dict[str, Any] | None:
    marks = ",".join("?" * len(channels))
    row = ledger.conn.execute(
        f"SELECT title, at, channel FROM interactions WHERE person_id = ? AND channel IN ({marks}) "
        "AND at <= ? ORDER BY at DESC LIMIT 1",
        (person_id, *channels, iso(now)),
    ).fetchone()
    if not row:
        return None
    at = datetime.strptime(row[1], "%Y-%m-%dT%H:%M:%SZ")
    return {
        "subject" if channels != ("met",) else "title": strip_reply_prefix(row[0]),
        "date": at.date(),
        "days_ago": (now.replace(tzinfo=None) - at).days,
        "direction": row[2],
    }


def note_context(ledger: Ledger, settings: Settings, note: PlannedNote, now: datetime) -> dict[str, Any]:
    """Everything a template may use, as plain data (see templates/checkin.txt.j2)."""
    s = note.standing
    c = s.contact
    profile = c.profile
    recipient = recipient_of(s)
    last = c.last_contact
    meeting = _last(ledger, c.person_id, ("met",), now)
    if meeting:
        meeting.pop("direction")
    hook = s.hook
    return {
        "me": {
            "name": settings.me.name,
            "first_name": _first_name(settings.me.name, settings.me.addresses[0] if settings.me.addresses else ""),
            "signature": settings.me.signature,
        },
        "person": {
            "name": c.display_name,
            "first_name": _first_name(c.display_name if c.display_name != recipient.email else "", recipient.email),
            "email": recipient.email,
            "note": profile.note if profile else "",
            "company": profile.company if profile else "",
            "title": profile.title if profile else "",
            "group": profile.group if profile else "",
        },
        "hook": {"kind": hook.kind if hook else "", "text": hook.text if hook else ""},
        "last_meeting": meeting,
        "last_thread": _last(ledger, c.person_id, ("sent", "received"), now),
        "days_since": (now - last).days if last else None,
        "mutual": [{"name": m.display_name, "first_name": _first_name(m.display_name)} for m in s.mutual],
        "key": note.key,
    }


def sender_of(settings: Settings) -> Address:
    if not settings.me.addresses:
        raise DraftBuildError("set [me] addresses in the config: drafts need a From address")
    return Address(email=settings.me.addresses[0], name=settings.me.name)


def compose(
    ledger: Ledger, settings: Settings, renderer: TemplateRenderer, note: PlannedNote, now: datetime
) -> Draft:
    """Render and build one note; raises TemplateError or DraftBuildError."""
    context = note_context(ledger, settings, note, now)
    rendered = renderer.render(TEMPLATES[note.kind], context)
    sender = sender_of(settings)
    recipient = recipient_of(note.standing)
    message_id = new_message_id(sender.email.rsplit("@", 1)[1])
    message = build_draft(
        sender=sender,
        to=[recipient],
        subject=rendered.subject,
        body=rendered.body,
        message_id=message_id,
        key=note.key,
        date=now,
    )
    return Draft(note, recipient, rendered, message_id, message)
