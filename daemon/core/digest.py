"""The weekly digest: one draft to the user themself, once a week (issue 5).

It says who is due and why, which drafts are waiting, which introductions are
in flight, how the monthly goal stands, and who needs a note before circleback
can write to them. It goes through the outbox like every other draft, keyed by
(``digest``, the user's first address, ISO year-week), so a rerun or a crash
between the intent and the draft box never writes a second one. It is not a
note to another person: it does not count against the weekly budget and has no
``person_id``, so it never makes anyone "already drafted for" or cooling down.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..config import Settings
from ..store.ledger import Ledger
from ..store.outbox import OPEN_STATES
from . import goals
from .contacts import Contact, contacts
from .drafting import TEMPLATES, build_message, me_context, sender_of
from .intros import OPEN, list_intros
from .kinds import DIGEST, KIND_LABELS
from .lifecycle import stale_drafts
from .planner import intent_key, plan_cycle
from .templating import RenderedNote, TemplateRenderer


def digest_period(settings: Settings, now: datetime) -> str | None:
    """This week's ISO year-week ("2026-W47") once the configured day and hour have come, else None.

    Both are the user's local time. A digest not written on its day (the machine was off) is
    written at the next cycle of the same week; a week that passed entirely is not caught up.
    """
    local = now.astimezone(settings.me.zone)
    year, week, weekday = local.isocalendar()
    if (weekday - 1, local.hour) < (settings.digest.weekday, settings.digest.hour):
        return None
    return f"{year}-W{week:02d}"


def digest_key(settings: Settings, period: str) -> str:
    return intent_key(DIGEST, sender_of(settings).email, period)


def digest_context(ledger: Ledger, settings: Settings, now: datetime, period: str, key: str) -> dict[str, Any]:
    """What templates/digest.txt.j2 sees, as plain data.

    Read after this cycle's notes were committed: ``waiting`` holds them, and ``due`` is
    who is due yet has no draft (over the budget, or their note could not be rendered).
    """
    people = {c.person_id: c for c in contacts(ledger, settings, now)}
    plan = plan_cycle(ledger, settings, now)
    # Left in plan.notes after the commit: within budget, but the note could not be rendered.
    due = [{"name": n.standing.contact.display_name, "reason": n.standing.reason, "held": "not drafted yet"}
           for n in plan.notes]  # fmt: skip
    due += [{"name": s.contact.display_name, "reason": s.reason, "held": "over budget"}
            for s in plan.over_budget]  # fmt: skip
    stale = {key: why for key, (_, why) in stale_drafts(ledger).items()}
    waiting = []
    for e in ledger.outbox(states=OPEN_STATES):
        if e.kind == DIGEST:
            continue
        c = people.get(e.person_id) if e.person_id is not None else None
        last = c.last_contact if c else None
        waiting.append(
            {
                "name": c.display_name if c else e.recipient,
                "what": KIND_LABELS.get(e.kind, e.kind),
                "days_waiting": (now - e.created_at).days,
                "days_since": (now - last).days if last else None,
                "stale": stale.get(e.key, ""),  # why it no longer fits; "" while it does
            }
        )
    goal = goals.month_goal(ledger, settings, now)
    streak = goals.goal_streak(ledger, settings, now)
    return {
        "me": me_context(settings),
        "week": period,
        "date": now.astimezone(settings.me.zone).date(),
        "waiting": waiting,
        "due": due,
        "needs_note": [
            {
                "name": s.contact.display_name,
                "email": s.contact.emails[0] if s.contact.emails else "",
                "reason": s.reason,
            }
            for s in plan.needs_note
        ],
        "suggested": [
            {
                "name": s.contact.display_name,
                "email": s.contact.emails[0] if s.contact.emails else "",
                "days_since": (now - s.contact.last_contact).days if s.contact.last_contact else None,
            }
            for s in plan.suggested
        ],
        "intros": _intros_in_flight(ledger, people, settings, now),
        "goal": {
            "month": goal.month,
            "people": goal.people,
            "goal": goal.goal,
            "met": goal.met,
            "streak": streak,
            "line": goals.goal_line(goal, streak),
        },
        "key": key,
    }


def _intros_in_flight(
    ledger: Ledger, people: dict[int, Contact], settings: Settings, now: datetime
) -> list[dict[str, Any]]:
    out = []
    for i in list_intros(ledger, OPEN):
        a, b = people.get(i.a), people.get(i.b)
        out.append(
            {
                "a": a.display_name if a else "?",
                "b": b.display_name if b else "?",
                "state": i.state.replace("_", " "),
                "since": i.updated_at.astimezone(settings.me.zone).date(),
                "days": (now - i.updated_at).days,
            }
        )
    return out


@dataclass(frozen=True, slots=True)
class DigestDraft:
    key: str
    period: str
    rendered: RenderedNote
    message_id: str
    message: bytes


def compose_digest(
    ledger: Ledger, settings: Settings, renderer: TemplateRenderer, now: datetime, period: str
) -> DigestDraft:
    """Render and build this week's digest; raises TemplateError or DraftBuildError."""
    key = digest_key(settings, period)
    rendered = renderer.render(TEMPLATES[DIGEST], digest_context(ledger, settings, now, period, key))
    me = sender_of(settings)
    message_id, message = build_message(settings, [me], rendered, key, now)
    return DigestDraft(key, period, rendered, message_id, message)


def commit_digest(
    ledger: Ledger, settings: Settings, renderer: TemplateRenderer, account: str, now: datetime
) -> DigestDraft | None:
    """Commit this week's digest intent when it is due and not yet planned; the new draft, or None.

    The key is looked up before rendering: the digest reads the whole ledger, and every
    cycle of the week after the first would otherwise render it only to find the key taken.
    """
    if not settings.digest.enabled:
        return None
    period = digest_period(settings, now)
    if period is None or ledger.outbox_entry(digest_key(settings, period)) is not None:
        return None
    draft = compose_digest(ledger, settings, renderer, now, period)
    with ledger.transaction():
        added = ledger.add_intent(
            key=draft.key, person_id=None, kind=DIGEST, period=period, account=account,
            recipient=sender_of(settings).email, message_id=draft.message_id, message=draft.message, now=now,
        )  # fmt: skip
    return draft if added else None
