"""From a planned note to the bytes of a safe draft.

The template sees a plain, read-only context (templates render in an
immutable sandbox); the message is built by :mod:`message`, which strips
control characters from every header and re-parses what it wrote.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any

from circleback.connectors.base import Address

from ..config import Settings
from ..errors import DraftBuildError, TemplateError
from ..store.ledger import Ledger
from ..store.timestamps import parse_iso
from .contacts import Contact
from .kinds import LINKEDIN
from .message import build_draft, new_message_id
from .names import name_from_address
from .planner import PlannedNote, Standing, is_careful, read_profile_note
from .subjects import is_specific, strip_reply_prefix
from .templating import RenderedNote, TemplateRenderer, clip, first_name
from .wording import left_their_job

TEMPLATES = {
    "checkin": "checkin.txt.j2",
    "linkedin": "linkedin.txt.j2",
    "nudge": "nudge.txt.j2",
    "intro-ask": "intro_ask.txt.j2",
    "intro": "intro.txt.j2",
    "intro-followup": "intro_followup.txt.j2",
    "digest": "digest.txt.j2",
}


@dataclass(frozen=True, slots=True)
class Draft:
    note: PlannedNote
    recipient: Address
    rendered: RenderedNote
    message_id: str
    message: bytes


def _names_of(c: Contact) -> set[str]:
    """The words that name this person: their name's words and a name-shaped address's first part."""
    words = {w.lower() for w in re.findall(r"[^\W\d_]{2,}", c.display_name) if "@" not in c.display_name}
    for email in c.emails:
        first = name_from_address(email)
        if first:
            words.add(first.lower())
    return words - {"the", "and", "with", "von", "van", "der", "de", "la", "le", "du", "da", "di"}


def names_them(text: str, c: Contact) -> bool:
    """Does a meeting title or subject name this person ("Coffee with Dana", "Dana / Alex 1:1")?

    Quoting such a title back to them ("since “Coffee with Dana”") reads like a mail merge.
    """
    said = {w.lower() for w in re.findall(r"[^\W\d_]{2,}", text)}
    return bool(said & _names_of(c))


def recipient_of(standing: Standing, ledger: Ledger | None = None) -> Address:
    """Where a note to this person goes: with several addresses, the one they used most recently.

    Someone who wrote "My new address" or "Last day at Acme" from one address and then wrote from
    another is reached at the newer one, whatever order the config lists them in. Someone the
    user's note says has lost or left their job ("let go in the Nov cuts") is not written at
    the employer's address when a personal one is known (``personal_address``).
    """
    return address_to(standing.contact, ledger)


def address_to(c: Contact, ledger: Ledger | None = None, *, private: bool = False) -> Address:
    """``recipient_of`` for any draft to this person (a note, an introduction, a follow-up).

    ``private``: the draft touches something theirs alone (a job search, a legal matter): their
    own address when one is known, never the employer's where IT may read it.
    """
    latest = ledger.latest_address(c.person_id) if ledger is not None and len(c.emails) > 1 else None
    if private and (own := _own_addresses(c)):
        return address_of(c, latest if latest in own else own[0])
    return address_of(c, personal_address(c, latest))


def _listed_addresses(c: Contact) -> list[str]:
    """Their addresses, the config's first (in its order), then the ledger's; each once."""
    return list(dict.fromkeys([*(c.profile.emails if c.profile else []), *c.emails]))


def _own_addresses(c: Contact) -> list[str]:
    """Their addresses at a provider anyone can sign up to: theirs, not an employer's."""
    return [e for e in _listed_addresses(c) if is_public_mail(e)]


def personal_address(c: Contact, latest: str | None) -> str | None:
    """``latest``, or, when their work address is no longer theirs, their own address."""
    note = c.profile.note if c.profile else ""
    if not note or not left_their_job(note):
        return latest
    listed = _listed_addresses(c)
    current = latest or (listed[0] if listed else None)
    if current is None or is_public_mail(current):
        return latest
    own = _own_addresses(c)
    return own[0] if own else latest


def address_of(c: Contact, email: str | None = None) -> Address:
    email = email or (c.profile.emails[0] if c.profile and c.profile.emails else c.emails[0])
    return Address(email=email, name=c.display_name if c.display_name != email else "")


def me_context(settings: Settings) -> dict[str, Any]:
    me = settings.me
    return {
        "name": me.name,
        # What notes are signed with: "J. Park" gives no first name, but a note still needs a sign-off.
        "first_name": first_name(me.name, me.addresses[0] if me.addresses else "") or me.name.strip(),
        "signature": me.signature,
    }


# A note that says they are an elder of the user's ("mzee wa kweli", "our pastor"): "Dear" or "Hello", never "Hey".
_ELDER = re.compile(r"(?i)\b(?:mzee|elder|chief|pastor|reverend|imam|rabbi|bishop|sensei|guru|ustaz|baba)\b")


def person_context(c: Contact) -> dict[str, Any]:
    """One person as templates see them (the recipient, or the other side of an introduction)."""
    p = c.profile
    email = (p.emails[0] if p and p.emails else c.emails[0]) if (c.emails or (p and p.emails)) else ""
    return {
        "name": c.display_name,
        "first_name": c.first_name,
        "email": email,
        "note": p.note if p else "",
        "company": p.company if p else "",
        "title": p.title if p else "",
        "group": p.group if p else "",
        "linkedin": p.linkedin if p else "",
        "offers": list(p.offers) if p else [],
        "seeks": list(p.seeks) if p else [],
        "sign_as": p.sign_as if p else "",
        "elder": bool(p and _ELDER.search(p.note)),
    }


def _last(
    ledger: Ledger, person_id: int, channels: tuple[str, ...], now: datetime, zone: tzinfo
) -> dict[str, Any] | None:
    row = ledger.latest_interaction(person_id, channels, now)
    if not row:
        return None
    at = parse_iso(row[1])
    assert at is not None
    return {
        "subject" if channels != ("met",) else "title": strip_reply_prefix(row[0]),
        # The day on the user's calendar: a mail sent at 21:40 in Chicago is dated the next day in UTC.
        "date": at.astimezone(zone).date(),
        "days_ago": (now - at).days,
        "direction": row[2],
        "they_wrote": row[2] == "received" or _wrote_in(ledger, person_id, row[3], now),
    }


def _wrote_in(ledger: Ledger, person_id: int, thread: str, now: datetime) -> bool:
    """Did this person write in the thread? Only then was it an exchange, not one of my notes to a group."""
    return bool(thread) and ledger.wrote_in_thread(person_id, thread, now)


def note_context(ledger: Ledger, settings: Settings, note: PlannedNote, now: datetime) -> dict[str, Any]:
    """Everything a template may use, as plain data (see templates/checkin.txt.j2)."""
    s = note.standing
    c = s.contact
    last = c.last_contact
    hook = s.hook
    zone = settings.me.zone
    from .notes import NO_NOTE  # the note reader: only when a note is drafted

    note_read = hook.note if hook and hook.note else read_profile_note(c)
    moment = hook.moment if hook else None
    return {
        "me": me_context(settings),
        "person": {**person_context(c), "first_name": c.greeting_name},  # "Hi Dad," where they set `greet`
        "relation": relation_of(c, settings),
        "careful": is_careful(c),
        "hook": {"kind": hook.kind if hook else "", "text": hook.text if hook else ""},
        "note": (note_read or NO_NOTE).as_context(),
        "moment": {**moment.as_context(), "days_ago": (now - hook.at).days if hook and hook.at else 0}
        if moment
        else None,
        "last_meeting": _quotable(last_meeting(ledger, c.person_id, now, zone), "title", c),
        "last_thread": _quotable(last_thread(ledger, c.person_id, now, zone), "subject", c),
        "days_since": (now - last).days if last else None,
        "mutual": [{"name": m.display_name, "first_name": first} for m in s.mutual if (first := m.first_name)],
        "about": note.about,
        "key": note.key,
    }


# Group names that say how a note should sound: no "How can I help with whatever you're
# working on?" to a parent.
# A family group in the user's own language counts too ("pamilya", "rodzina", "jamaa", "gia đình").
_FAMILY = re.compile(
    r"famil|parent|relative|sibling|cousin|kin\b|mum|mom|dad|pamilya|rodzina|jamaa|aile\b|3?ayle\b|ahel\b|ahl\b"
    r"|gia ?(?:đình|dinh)|家族|가족"
    r"|가정",
    re.IGNORECASE,
)
_FRIENDS = re.compile(r"friend|mates?\b|pals?\b|neighbou?r|club|school|uni\b|college", re.IGNORECASE)
_WORK = re.compile(r"work|colleague|cowork|client|mentor|investor|alumni|network|team|peer|industry|professional",
                   re.IGNORECASE)


# Mail providers anyone can sign up to, by the name before the top-level domain: gmail.com,
# yahoo.co.uk, web.de (and gmail.example in a test world). An address there is a person's own,
# not an employer's.
_PUBLIC_MAIL = frozenset({
    "gmail", "googlemail", "outlook", "hotmail", "live", "msn", "yahoo", "ymail", "icloud", "me", "mac",
    "proton", "protonmail", "pm", "gmx", "web", "aol", "fastmail", "hey", "zoho", "yandex", "tutanota", "tuta",
    "mail", "posteo", "mailbox", "hushmail", "btinternet", "libero", "laposte", "orange", "free", "wanadoo",
})
_SECOND_LEVEL = frozenset({"co", "com", "org", "net", "ac"})


def is_public_mail(address: str) -> bool:
    """Is this an address at a provider anyone can sign up to (a personal address)?"""
    labels = address.rpartition("@")[2].lower().split(".")
    if len(labels) == 3 and labels[1] in _SECOND_LEVEL:  # yahoo.co.uk, hotmail.com.br
        labels = labels[:1] + labels[2:]
    return len(labels) == 2 and labels[0] in _PUBLIC_MAIL


def is_family_group(group: str) -> bool:
    return bool(group) and _FAMILY.search(group) is not None


def relation_of(c: Contact, settings: Settings) -> str:
    """family | friend | colleague | work | other: their group's name, else a company domain we share."""
    group = c.profile.group if c.profile else ""
    mine = {a.rpartition("@")[2] for a in settings.me.addresses if not is_public_mail(a)}
    same_company = any(e.rpartition("@")[2] in mine for e in c.emails)
    for name, pattern in (("family", _FAMILY), ("friend", _FRIENDS), ("work", _WORK)):
        if group and pattern.search(group):
            return "colleague" if name == "work" and same_company else name
    return "colleague" if same_company else "other"


_GARBLED = "\ufffd"  # U+FFFD REPLACEMENT CHARACTER: what a decoder leaves of bytes it could not read


def _quotable(found: dict[str, Any] | None, field: str, c: Contact) -> dict[str, Any] | None:
    """The meeting or thread with a title fit to quote back, the one place every template's quote comes from.

    Blanked if it names the recipient ("Coffee with Dana"), touches something sensitive
    ("Re: Dad died"), only answers a machine ("Re: Your order #4471"), says nothing ("hi"),
    was forwarded ("Fwd: a joke") or was garbled on the way (a U+FFFD where a decoder met
    bytes in the wrong charset): the template then says "when we met". Otherwise cut to a
    line (``templating.clip``): a 3,000-character calendar title is not quoted whole.
    """
    if found:
        title = found[field]
        fit = is_specific(title) and not names_them(title, c) and _GARBLED not in title
        found[field] = clip(title) if fit else ""
    return found


def last_meeting(ledger: Ledger, person_id: int, now: datetime, zone: tzinfo = UTC) -> dict[str, Any] | None:
    meeting = _last(ledger, person_id, ("met",), now, zone)
    if meeting:
        meeting.pop("direction")
        meeting.pop("they_wrote")
    return meeting


def last_thread(ledger: Ledger, person_id: int, now: datetime, zone: tzinfo = UTC) -> dict[str, Any] | None:
    """The latest mail either way, dated in ``zone``; ``they_wrote``: did they write in that thread."""
    return _last(ledger, person_id, ("sent", "received"), now, zone)


def sender_of(settings: Settings, via: str | None = None) -> Address:
    """From: the address of mine last used with the recipient (``via``) if it is still mine, else the first."""
    if not settings.me.addresses:
        raise DraftBuildError("set [me] addresses in the config: drafts need a From address")
    email = via if via in settings.me.addresses else settings.me.addresses[0]
    return Address(email=email, name=settings.me.name)


def compose(
    ledger: Ledger, settings: Settings, renderer: TemplateRenderer, note: PlannedNote, now: datetime
) -> Draft:
    """Render and build one note; raises TemplateError or DraftBuildError."""
    context = note_context(ledger, settings, note, now)
    template = TEMPLATES[note.kind]
    rendered = renderer.render(template, context)
    sender = sender_of(settings)
    if note.kind == LINKEDIN:
        check_linkedin_length(rendered, settings.drafting.linkedin_limit)
        if not note.standing.contact.emails:
            rendered = _paste_ready(rendered, note.standing.contact)
            recipient = sender  # no address: the note comes to me, to paste on their profile
        else:
            recipient = recipient_of(note.standing, ledger)
    else:
        recipient = recipient_of(note.standing, ledger)
    via = my_address_to(ledger, settings, note.standing.contact, recipient) if recipient != sender else None
    message_id, message = build_message(settings, [recipient], rendered, note.key, now, via)
    return Draft(note, recipient, rendered, message_id, message)


def my_address_to(ledger: Ledger, settings: Settings, c: Contact, recipient: Address) -> str | None:
    """The address of mine last used with them; my own address when writing to their personal one
    because their work address is no longer theirs (not the firm's address to someone it let go)."""
    via = ledger.my_address_for(c.person_id)
    if is_public_mail(recipient.email) and via and not is_public_mail(via):
        moved = ledger.latest_address(c.person_id) not in (None, recipient.email)
        own = [a for a in settings.me.addresses if is_public_mail(a)]
        if moved and own:
            return own[0]
    return via


def build_message(
    settings: Settings, to: list[Address], rendered: RenderedNote, key: str, now: datetime, via: str | None = None
) -> tuple[str, bytes]:
    """(Message-ID, bytes) of one draft from me (``via``, the address I last used with them) to ``to``."""
    sender = sender_of(settings, via)
    message_id = new_message_id(sender.email.rsplit("@", 1)[1])
    message = build_draft(
        sender=sender, to=to, subject=rendered.subject, body=rendered.body, message_id=message_id, key=key, date=now
    )
    return message_id, message


def check_linkedin_length(rendered: RenderedNote, limit: int) -> None:
    """LinkedIn refuses a connection note over 300 characters (200 on a free account)."""
    size = len(rendered.body.strip())
    if size > limit:
        raise TemplateError(
            f'template "{rendered.template}" rendered a LinkedIn note of {size} characters; '
            f"the limit is {limit} (drafting.linkedin_limit): shorten the template"
        )


def _paste_ready(rendered: RenderedNote, c: Contact) -> RenderedNote:
    url = c.profile.linkedin if c.profile else ""
    head = f"For {c.display_name}: paste this as a LinkedIn message at {url}\n\n---\n"
    return RenderedNote(f"LinkedIn note for {c.display_name}", head + rendered.body, rendered.template)
