"""``circleback templates check``: render every template against sample people before a draft needs it.

A broken override otherwise shows up only when a real person is due, as one
"problem:" line in a cycle report. Here every template circleback renders (the
defaults, and the user's overrides in ``[drafting] templates_dir``) is rendered
against samples built in code: one person per hook kind, a LinkedIn-only person,
an introduction pair, a nudge with a link and with a topic, and a week's digest.
The samples are built with the same context builders as real drafts
(``person_context``, ``intro_context``) so a template that passes here sees the
same names in production; tests compare the samples' keys with real contexts.

Registered on ``main`` in ``cli.py`` with ``main.add_command(templates_group)``.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import click
from jinja2.exceptions import TemplateSyntaxError

from ..config import Person, Settings, not_a_folder
from ..core import goals
from ..core.contacts import Contact
from ..core.drafting import TEMPLATES, check_linkedin_length, me_context, person_context, relation_of
from ..core.intros import _canonical_tags, intro_context
from ..core.moments import read_moment
from ..core.notes import NO_NOTE, read_note, read_say
from ..core.templating import TemplateRenderer, template_names
from ..errors import CirclebackError, TemplateError
from ..store.timestamps import utcnow
from .support import handle_errors

# A note read in one glance; the same figure the end-to-end test holds the defaults to.
WORD_LIMIT = 150
# Kinds whose length is not a note's: the digest is a list the user reads themself.
_NO_WORD_LIMIT = ("digest",)


@dataclass(slots=True)
class TemplateCheck:
    template: str
    source: str  # "default", or the override's path
    samples: int = 0
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


# -- samples ------------------------------------------------------------------------------


def _person(pid: int, name: str, emails: list[str], last: datetime, **profile: Any) -> Contact:
    return Contact(
        person_id=pid, name=name, emails=emails, configured=True, last_sent=last, last_received=None,
        last_met=None, next_meeting=None, sent_count=3, met_count=1, received_count=2, snoozed_until=None,
        profile=Person(name=name, emails=emails, **profile),
    )  # fmt: skip


def _note_context(settings: Settings, c: Contact, now: datetime, hook: str, **extra: Any) -> dict[str, Any]:
    """The keys of drafting.note_context, filled by hand: no ledger needed."""
    days = 120
    when = (now - timedelta(days=days)).date()
    profile_note = c.profile.note if c.profile else ""
    context = {
        "me": me_context(settings),
        "person": person_context(c),
        "relation": relation_of(c, settings),
        "careful": False,
        "hook": {"kind": hook, "text": profile_note if hook == "note" else "sample"},
        "note": read_note(profile_note).as_context() if profile_note else NO_NOTE.as_context(),
        "moment": None,
        "last_meeting": {"title": "Quarterly planning offsite", "date": when, "days_ago": days},
        "last_thread": {"subject": "Berlin conference slides", "date": when, "days_ago": days,
                        "direction": "received", "they_wrote": True},
        "days_since": days,
        "mutual": [{"name": "Ana Ruiz", "first_name": "Ana"}, {"name": "Bo Chen", "first_name": "Bo"}],
        "about": "",
        "key": f"sample-{c.person_id}-{hook}",
    }  # fmt: skip
    context.update(extra)
    return context


# One note for each shape the note reader carries into a sentence (see daemon/notes.py).
SAMPLE_NOTES = {
    "verb-phrase": "always sends the best book recommendations",
    "pronoun-clause": "she walked me through my first board meeting",
    "possessive": "her notes from the design review",
    "first-person": "I owe him a coffee",
    "adjective": "generous with her time",
    "praise-noun": "a natural teacher",
    "memory": "our road trip to Big Sur",
    "addressed": "the way you always ask the question nobody else thought of; you helped me rethink pricing",
}
# A title for each kind of shared moment a meeting or thread can name (see daemon/moments.py).
SAMPLE_MOMENTS = {
    "meal": ("meeting", "Lunch at Dishoom", False),
    "trip": ("meeting", "Trip to Lisbon", False),
    "event": ("meeting", "PyData Berlin meetup", False),
    "photos": ("thread", "Stockholm photos", False),
    "slides": ("thread", "Berlin slides", False),
    "role": ("thread", "Congrats on the new role!", False),
}


def note_samples(settings: Settings, now: datetime) -> list[tuple[str, dict[str, Any]]]:
    """Check-in and LinkedIn samples: every note shape, every kind of moment, and a LinkedIn-only person."""
    last = now - timedelta(days=120)
    out = []
    for i, (shape, text) in enumerate(SAMPLE_NOTES.items()):
        c = _person(10 + i, "Dr. Jo Park", ["jo.park@example.com"], last, note=text, group="colleagues")
        out.append((f"a note ({shape}): {text!r}", _note_context(settings, c, now, "note")))
    said = _person(9, "Kenny Hörst", ["kenny@example.com"], last, say="Still laughing about the karaoke night.",
                   group="friends")  # fmt: skip
    say = read_say("Still laughing about the karaoke night.").as_context()
    out.append(("your own words (say)", _note_context(settings, said, now, "note", note=say)))
    plain = _person(2, "Kenny Hörst", ["kenny@example.com"], last, group="family")
    for kind, (hook, title, mine) in SAMPLE_MOMENTS.items():
        moment = read_moment(title, met=hook == "meeting", sent_by_me=mine)
        assert moment is not None, title
        ctx = _note_context(settings, plain, now, hook, moment={**moment.as_context(), "days_ago": 120})
        out.append((f"a {hook} ({kind}): {title!r}", ctx))
    linkedin_only = _person(3, "Dana Lee", [], last, note="your talk on accessible maps",
                            linkedin="https://www.linkedin.com/in/dana-lee-sample")  # fmt: skip
    out.append(("a LinkedIn-only person", _note_context(settings, linkedin_only, now, "note")))
    return out


def nudge_samples(settings: Settings, now: datetime) -> list[tuple[str, dict[str, Any]]]:
    c = _person(4, "Nadia Petrova", ["nadia@example.com"], now - timedelta(days=30), note="runs research ops")
    return [
        ("a nudge with a link", _note_context(settings, c, now, "about", about="https://example.org/a-talk")),
        ("a nudge with a topic", _note_context(settings, c, now, "about", about="The new interview guide")),
    ]


def intro_samples(settings: Settings, now: datetime) -> list[tuple[str, dict[str, Any]]]:
    """Both asks of one introduction: each seeks what the other offers, in the user's own wording.

    Mateo is asked first (what Rafael seeks is not said yet), Rafael once Mateo answered.
    """
    last = now - timedelta(days=10)
    mateo = _person(5, "Mateo García", ["mateo@example.com"], last, company="Trailhead Maps", title="Founder",
                    seeks=["Fundraising"], offers=["hiking routes"])  # fmt: skip
    rafael = _person(6, "Rafael Costa", ["rafael@example.com"], last, title="Angel investor",
                     offers=["seed funding"], seeks=["Hiking routes"],
                     linkedin="https://www.linkedin.com/in/rafael-costa-sample")  # fmt: skip
    table = _canonical_tags(settings)
    sent = now - timedelta(days=21)
    return [
        (f"to {a.display_name}",
         intro_context(settings, a, b, table, f"sample-intro-{a.person_id}", now, sent, other_agreed=agreed))
        for a, b, agreed in ((mateo, rafael, False), (rafael, mateo, True))
    ]


def digest_sample(settings: Settings, now: datetime) -> list[tuple[str, dict[str, Any]]]:
    """The keys of digest.digest_context, filled by hand."""
    goal = goals.MonthGoal(f"{now:%B %Y}", 2, settings.goals.people_per_month)
    day = now.date() - timedelta(days=5)
    context = {
        "me": me_context(settings),
        "week": f"{now.isocalendar()[0]}-W{now.isocalendar()[1]:02d}",
        "date": now.date(),
        "waiting": [
            {"name": "Jo Park", "what": "check-in", "days_waiting": 2, "days_since": 120, "stale": ""},
            {"name": "Dana Lee", "what": "LinkedIn note", "days_waiting": 9, "days_since": None,
             "stale": "they wrote first"},
        ],
        "due": [{"name": "Kenny Hörst", "reason": "130d since last contact; cadence 91d", "held": "over budget"}],
        "needs_note": [{"name": "Olivia Brown", "email": "olivia@example.com", "reason": "never in touch"}],
        "suggested": [{"name": "Sam Lee", "email": "sam@example.com", "days_since": 140}],
        "intros": [{"a": "Mateo García", "b": "Rafael Costa", "state": "asked", "since": day, "days": 5}],
        "goal": {"month": goal.month, "people": goal.people, "goal": goal.goal, "met": goal.met, "streak": 3,
                 "line": goals.goal_line(goal, 3)},
        "key": "sample-digest",
    }  # fmt: skip
    return [("a week with something in every section", context)]


def samples_for(kind: str, settings: Settings, now: datetime) -> list[tuple[str, dict[str, Any]]]:
    if kind in ("checkin", "linkedin"):
        notes = note_samples(settings, now)
        # A check-in needs an address; a LinkedIn-only person only ever gets the LinkedIn note.
        return notes if kind == "linkedin" else [(n, c) for n, c in notes if c["person"]["email"]]
    if kind == "nudge":
        return nudge_samples(settings, now)
    if kind in ("intro-ask", "intro", "intro-followup"):
        return intro_samples(settings, now)
    if kind == "digest":
        return digest_sample(settings, now)
    raise KeyError(kind)


# -- checking ------------------------------------------------------------------------------


def _check_one(renderer: TemplateRenderer, kind: str, check: TemplateCheck, settings: Settings, now: datetime) -> None:
    for label, context in samples_for(kind, settings, now):
        check.samples += 1
        try:
            rendered = renderer.render(check.template, context)
            if kind == "linkedin":
                check_linkedin_length(rendered, settings.drafting.linkedin_limit)
        except TemplateError as exc:
            if str(exc) not in check.errors:  # a syntax error fails every sample alike: say it once
                check.errors.append(str(exc))
            continue
        words = len(rendered.body.split())
        if kind not in _NO_WORD_LIMIT and words > WORD_LIMIT:
            check.warnings.append(f"{label}: {words} words; a note reads best under {WORD_LIMIT}")


def _syntax_only(renderer: TemplateRenderer, name: str, check: TemplateCheck) -> None:
    """A file circleback never renders by name (an included part, or a misspelt override)."""
    try:
        renderer.env.get_template(name)
    except TemplateSyntaxError as exc:
        check.errors.append(f'template "{name}" ({exc.filename}, line {exc.lineno}) has a syntax error: '
                            f"{(exc.message or '').rstrip('. ')}; fix that line")  # fmt: skip
    check.warnings.append(
        "circleback renders no template by this name; if it is not included by another, "
        f"rename it to one of: {', '.join(TEMPLATES.values())}"
    )


def check_templates(settings: Settings, templates_dir: Path | None, now: datetime) -> list[TemplateCheck]:
    """Every template circleback renders, and every other .j2 file in ``templates_dir``, checked."""
    renderer = TemplateRenderer(templates_dir)
    overrides = sorted(p.name for p in templates_dir.glob("*.j2")) if templates_dir and templates_dir.is_dir() else []
    checks = []
    for kind, name in TEMPLATES.items():
        source = str(templates_dir / name) if name in overrides else "default"
        check = TemplateCheck(name, source)
        _check_one(renderer, kind, check, settings, now)
        checks.append(check)
    known = set(TEMPLATES.values())
    for name in [*overrides, *template_names()]:
        if name not in known:
            known.add(name)
            check = TemplateCheck(name, str(templates_dir / name) if name in overrides else "default")
            _syntax_only(renderer, name, check)
            checks.append(check)
    return checks


# -- the command --------------------------------------------------------------------------


@click.group("templates")
def templates_group() -> None:
    """Check the templates circleback writes its notes with, defaults and yours."""


@templates_group.command("check")
@click.option(
    "--dir",
    "directory",
    type=click.Path(path_type=Path),
    help="Check this folder of templates instead of [drafting] templates_dir.",
)
@click.pass_obj
@handle_errors
def templates_check(obj: Any, directory: Path | None) -> None:
    """Render every template against sample people and report what would fail.

    Your templates in [drafting] templates_dir override the defaults by file name.
    Each is rendered for sample people (one per kind of hook, a LinkedIn-only
    person, an introduction pair, a nudge, a weekly digest) in the same sandbox as
    real drafts. Errors (syntax, an undefined name, a blocked expression, a LinkedIn
    note over drafting.linkedin_limit) exit 1; a note over 150 words is a warning.

    \b
    Example:
      circleback templates check
      circleback templates check --dir ~/.config/circleback/templates
    """
    if directory is not None and (what := not_a_folder(directory)):
        raise CirclebackError(f"--dir {directory} {what}; give the folder that holds your .j2 templates")
    settings: Settings = obj.settings()
    tdir = directory or (Path(settings.drafting.templates_dir) if settings.drafting.templates_dir else None)
    checks = check_templates(settings, tdir, utcnow())
    for check in checks:
        status = "ERROR" if check.errors else "ok"
        samples = f"{check.samples} sample(s)" if check.samples else "syntax only"
        click.echo(f"{status:<6} {check.template} ({check.source}): {samples}")
        for line in check.errors:
            click.echo(f"       {line}")
        for line in check.warnings:
            click.echo(f"       warning: {line}")
    errors = sum(len(c.errors) for c in checks)
    warnings = sum(len(c.warnings) for c in checks)
    click.echo(f"{len(checks)} templates checked: {errors} error(s), {warnings} warning(s).")
    if errors:
        sys.exit(1)
