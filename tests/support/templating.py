"""A note's template context as the drafting code builds it, for the template tests."""

from __future__ import annotations

from datetime import date
from typing import Any

from circleback.daemon.core.notes import read_note

KEYS = [f"person:{i}:checkin:2025-W14" for i in range(16)]  # enough to reach every variant


NOTE = read_note("her candid take on hiring senior engineers").as_context()


MOMENTS = {
    "meeting": {"kind": "meal", "phrase": "our lunch at Dishoom", "since": "our lunch at Dishoom", "days_ago": 47},
    "thread": {"kind": "photos", "phrase": "your Stockholm photos", "since": "you sent me your Stockholm photos",
               "days_ago": 70},
}


def context(kind: str = "note", key: str = KEYS[0], **overrides: Any) -> dict[str, Any]:
    ctx: dict[str, Any] = {
        "me": {"name": "Ana Lima", "first_name": "Ana", "signature": ""},
        "person": {
            "name": "Jo Park",
            "first_name": "Jo",
            "email": "jo@example.org",
            "note": "her candid take on hiring senior engineers",
            "company": "Acme",
            "title": "CTO",
            "group": "friends",
        },
        "relation": "work",
        "careful": False,
        "hook": {"kind": kind},
        "note": NOTE,
        "moment": MOMENTS.get(kind),
        "last_meeting": {"title": "Q3 planning offsite", "date": date(2025, 2, 12), "days_ago": 47},
        "last_thread": {
            "subject": "Re: RE: Fwd: Series A intro",
            "date": date(2025, 1, 20),
            "days_ago": 70,
            "direction": "received",
        },
        "days_since": 47,
        "mutual": [{"name": "Bo Chen", "first_name": "Bo"}],
        "key": key,
    }
    ctx.update(overrides)
    return ctx
