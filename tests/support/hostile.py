"""Addresses anyone can write into an invitation that a note could never be sent to: every calendar
connector must drop them (the address rule of connectors/addresses.py, as on reading mail)."""

from __future__ import annotations

# The organizer of the hostile invitation: what is left of an encoded-word once decoded by hand.
HOSTILE_ORGANIZER = "=?utf-8?q?_attacker@evil.example?="
HOSTILE_ATTENDEES = (
    "evil@localhost",  # no dotted host name
    "a@b@evil.example",  # two '@'
    "<script>@evil.example",  # not a dot-atom local part
    "'@evil.example",  # a local part no one reads mail at
    "x@evil.123",  # a numeric top-level label
)
# Someone real beside them, so the event itself is kept.
GUEST = "ann@example.com"
