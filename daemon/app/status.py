"""Who is due and why, as ``status`` shows it and ``status --json`` prints it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ..config import Settings
from ..core.contacts import Contact
from ..core.planner import Standing, assess, mark_suggested
from ..store.ledger import Ledger
from ..store.timestamps import iso_or_none


def person_json(s: Standing) -> dict[str, Any]:
    c: Contact = s.contact
    return {
        "name": c.display_name,
        "handle": c.handle,
        "emails": c.emails,
        "group": c.profile.group if c.profile else "",
        "last_contact": iso_or_none(c.last_contact),
        "last_channel": c.last_channel or None,
        "last_sent": iso_or_none(c.last_sent),
        "last_received": iso_or_none(c.last_received),
        "last_met": iso_or_none(c.last_met),
        "next_meeting": iso_or_none(c.next_meeting),
        "ball_in_my_court": c.ball_in_my_court,
        "due": s.due,
        "reason": s.reason,
        "named": c.configured or c.imported,
        "cadence_days": round(s.cadence.total_seconds() / 86400, 2),
        "overdue": round(s.overdue, 3),
    }


def standings(ledger: Ledger, settings: Settings, now: datetime, *, marked: int = 0,
              imported: bool = False) -> list[Standing]:
    """Everyone's standing; the first ``marked`` rows also say whether they are only a suggestion.

    Whether an unnamed person is close enough for notes reads their history: `status` asks it
    of the rows it shows, not of 50,000 people.
    """
    rows = assess(ledger, settings, now, imported=imported)
    if marked:
        mark_suggested(ledger, settings, rows[:marked], now)
    return rows
