"""CLI commands about people: snooze, skip, nudge, imports, introductions, templates.

Registered on ``main`` in ``cli.py`` with ``main.add_command``. This module does
not import ``cli.py`` (``python -m circleback.daemon.cli`` would load it twice);
it relies only on the context object's ``settings()`` and ``state_dir``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import click

from ..app.session import Session
from ..config import Settings
from ..config.durations import parse_duration
from ..errors import CirclebackError, DraftWaiting
from ..store.ledger import Ledger
from ..store.timestamps import utcnow
from .support import HelpGroup, console, handle_errors, now_option, parse_now

MIN_SNOOZE = timedelta(days=1)
MAX_SNOOZE = timedelta(days=2 * 365 + 1)


def _now(text: str | None) -> datetime:
    return parse_now(text) or utcnow()


@contextmanager
def _state(obj: Any) -> Iterator[tuple[Settings, Ledger]]:
    with Session(obj.settings(), obj.state_dir, lock=False) as opened:  # beside a running service too
        yield opened.settings, opened.ledger


def draft_box(opened: Session, now: datetime) -> tuple[str, Any]:
    """The account drafts go to (the engine's choice) and its connector, open until the session closes."""
    from ..core.engine import draft_account

    connectors = opened.connect(now)
    name = draft_account(opened.settings, connectors)
    box = connectors.get(name) if name else None
    if name is None or box is None:
        raise CirclebackError("no account can hold drafts: add a maildir account or set [drafting] account")
    return name, box


def deliver(opened: Session, name: str, box: Any, now: datetime) -> list[str]:
    """Write pending intents to the draft box at once; the problems, one line each."""
    from ..core.outbox import Outbox, OutboxReport

    report = OutboxReport()
    with opened.drafts_lock():  # a running service may be writing drafts too
        Outbox(opened.ledger, box, name).deliver(now, report)
    return [f"{k}: {v}" for k, v in report.failed.items()]


# -- snooze, skip, nudge -------------------------------------------------------------


@click.command()
@click.argument("person")
@click.argument("length", required=False)
@click.option("--clear", is_flag=True, help="Undo a snooze: PERSON may get notes again when due.")
@now_option
@click.pass_obj
@handle_errors
def snooze(obj: Any, person: str, length: str | None, clear: bool, now_text: str | None) -> None:
    """Draft nothing for PERSON for LENGTH (30d, 6w, 3mo; at most 2y), or undo it with --clear.

    PERSON is an address, a name, or a unique part of a name.

    \b
    Examples:
      circleback snooze "Mateo" 30d
      circleback snooze --clear "Mateo"
    """
    from ..core.lifecycle import snooze as do_snooze
    from ..core.lifecycle import unsnooze

    if clear:
        if length:
            raise click.BadParameter("--clear takes no LENGTH", param_hint="LENGTH")
        with _state(obj) as (settings, ledger):
            who, was = unsnooze(ledger, settings, person, _now(now_text))
        click.echo(f"{who.display_name}: no longer snoozed." if was else f"{who.display_name} was not snoozed.")
        return
    if not length:
        raise click.BadParameter("how long: e.g. 30d, 6w, 3mo (or --clear to undo a snooze)", param_hint="LENGTH")
    try:
        duration = parse_duration(length)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="LENGTH") from None
    if duration < MIN_SNOOZE:  # "until" is a date: 15min would snooze until today, which does nothing
        raise click.BadParameter(f"{length!r}: snooze is for days or longer: e.g. 3d, 2w, 3mo",
                                 param_hint="LENGTH")
    if duration > MAX_SNOOZE:  # "100y" is a way of saying never: that is a setting, not a snooze
        raise click.BadParameter(
            f"{length!r}: a snooze is at most 2y; to never write to them, set do_not_contact = true "
            "on their [[people]] entry", param_hint="LENGTH")
    with _state(obj) as (settings, ledger):
        who, until = do_snooze(ledger, settings, person, duration, _now(now_text))
    click.echo(f"{who.display_name}: snoozed until {until.astimezone(settings.me.zone):%Y-%m-%d}.")


@click.command()
@click.argument("person")
@now_option
@click.pass_obj
@handle_errors
def skip(obj: Any, person: str, now_text: str | None) -> None:
    """Let PERSON's current lapse go: due again one cadence from now.

    \b
    Example:
      circleback skip mateo.garcia@example.com
    """
    from ..core.lifecycle import skip as do_skip

    with _state(obj) as (settings, ledger):
        who, due_at = do_skip(ledger, settings, person, _now(now_text))
    if due_at is not None:
        click.echo(f"{who.display_name} is not due (due on {due_at.astimezone(settings.me.zone):%Y-%m-%d}): "
                   "nothing to skip.")
        return
    click.echo(f"{who.display_name}: skipped this time; due again in one cadence.")


@click.command()
@click.argument("person")
@click.option("--about", required=True, help="A link or a topic: what made you think of them.")
@now_option
@click.pass_obj
@handle_errors
def nudge(obj: Any, person: str, about: str, now_text: str | None) -> None:
    """Draft a "this made me think of you" note to PERSON now, outside the weekly budget.

    If a draft to PERSON is already waiting (a check-in, an earlier nudge), nothing new is
    drafted: edit that one, or delete it and run nudge again.

    \b
    Example:
      circleback nudge "Nadia" --about "https://example.org/research-ops-talk"
      circleback nudge lukas.becker@work.example --about "the new interview guide"
    """
    from ..core.lifecycle import plan_nudge

    now = _now(now_text)
    with Session(obj.settings(), obj.state_dir, lock=False) as opened:  # beside a running service too
        settings, ledger = opened.settings, opened.ledger
        account, box = draft_box(opened, now)
        try:
            draft, added = plan_nudge(ledger, settings, opened.engine.renderer, person, about, account, now)
        except DraftWaiting as exc:
            click.echo(_already_waiting(exc, settings))
            return
        problems = deliver(opened, account, box, now)
    for line in problems:
        click.echo(f"problem: {line}", err=True)
    state = "drafted" if added else "already drafted"
    click.echo(f"{draft.recipient.email}: {state} in {account} — Subject: {draft.rendered.subject}")


@click.command("notes")
@click.pass_obj
@handle_errors
def notes(obj: Any) -> None:
    """Show how each [[people]] note will read in a draft, or why it will not be quoted.

    circleback never pastes a note into a sentence as typed: it reads it ("always sends
    the best book recommendations", "her notes from the design review", "a natural
    teacher") and turns it to address the person. Facts ("VP Eng at Northwind"), sensitive
    notes ("lost his dad last year"), notes in another language and notes it cannot read
    with confidence are never quoted; such a person gets a note only from another hook.
    Use `say` for your own exact words to them.

    Reads the config only.

    \b
    Example:
      circleback notes
    """
    settings = obj.settings()
    lines = note_report(settings)
    click.echo("\n".join(lines) if lines else "No [[people]] entry has a `note` or `say`.")


def note_report(settings: Settings) -> list[str]:
    """One entry per [[people]] note or `say`: the sentence a check-in opens with, or why not."""
    from ..core.drafting import is_family_group
    from ..core.names import first_name_of
    from ..core.notes import read_note, read_say

    out = []
    for p in settings.people:
        who = p.name or (p.emails[0] if p.emails else p.linkedin)
        if is_family_group(p.group) and not p.greet.strip():
            first = first_name_of(p.name, p.emails[0] if p.emails else "")
            out.append(f'{who}: family, greeted "Hi {first}"; set greet if you call them something else '
                       '("Mum", "Grandad", "Aunty Yetunde")')
        if p.say.strip():
            out.append(f"{who} (say): {read_say(p.say).sentence}")
            continue
        if not p.note.strip():
            continue
        read = read_note(p.note, {p.name.split()[0].lower()} if p.name.split() else set())
        if read.quotable:
            out.append(f"{who}: {read.preview()}")
        else:
            out.append(f"{who}: not quoted — {read.reason}")
            out.append(f"    note: {' '.join(p.note.split())}")  # as typed, not as the reader spelt it out
            out.append(f"    instead: {read.suggestion}")
    return out


def _already_waiting(exc: DraftWaiting, settings: Settings) -> str:
    """What nudge says when DraftWaiting refused it: which draft, since when, what to do."""
    from ..store.outbox import OutboxState

    waiting = exc.entry
    where = "waiting in Drafts" if waiting.state == OutboxState.DRAFTED else "queued for Drafts"
    return (f"{exc.person.display_name}: a {draft_kind(waiting.kind)} to {waiting.recipient} is already {where} "
            f"(since {waiting.created_at.astimezone(settings.me.zone):%Y-%m-%d}); nothing new drafted. "
            "Edit that one, or delete it and run nudge again.")


def draft_kind(kind: str) -> str:
    """A draft's kind as the user reads it: "check-in", "introduction ask"."""
    from ..core.kinds import KIND_LABELS

    return KIND_LABELS.get(kind, kind)


def draft_kinds(counts: Mapping[str, int]) -> str:
    """ "5 check-ins, 2 introduction asks": how many drafts of each kind, most first."""
    return ", ".join(f"{n} {draft_kind(kind)}{'s' if n != 1 else ''}"
                     for kind, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


# -- imports ----------------------------------------------------------------------------


@click.group("import", cls=HelpGroup)
def import_group() -> None:
    """Add people from a LinkedIn export or a vCard file (merged by address).

    Imported people live in the ledger; your config's [[people]] is never rewritten,
    and nothing you wrote there is overwritten.
    """


IMPORT_NAMES_SHOWN = 20


def _run_import(obj: Any, kind: str, path: Path) -> None:
    from ..core.imports import import_file

    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise CirclebackError(f"{path}: cannot read: {exc}") from None
    with _state(obj) as (settings, ledger):
        report = import_file(ledger, settings, kind, text)
    click.echo(f"{path.name}: {len(report.added)} added, {len(report.merged)} merged, "
               f"{len(report.unchanged)} unchanged, {len(report.skipped)} skipped")
    for what, names in (("added", report.added), ("merged", report.merged)):
        if names:
            shown = ", ".join(names[:IMPORT_NAMES_SHOWN])
            more = f" and {len(names) - IMPORT_NAMES_SHOWN} more" if len(names) > IMPORT_NAMES_SHOWN else ""
            click.echo(f"  {what}: {shown}{more}")
    for line in report.skipped:
        click.echo(f"  skipped {line}")
    if report.added:
        click.echo("People you have not written to or met yet get no note; `circleback status --all` lists them.")


@import_group.command("linkedin")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.pass_obj
@handle_errors
def import_linkedin(obj: Any, path: Path) -> None:
    """Import LinkedIn's Connections.csv (Settings > Data privacy > Get a copy of your data).

    \b
    Example:
      circleback import linkedin ~/Downloads/Connections.csv
    """
    _run_import(obj, "linkedin", path)


@import_group.command("vcard")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.pass_obj
@handle_errors
def import_vcard(obj: Any, path: Path) -> None:
    """Import a .vcf file (Google Contacts, Apple Contacts; vCard 3.0 and 4.0).

    \b
    Example:
      circleback import vcard ~/Downloads/contacts.vcf
    """
    _run_import(obj, "vcard", path)


# -- introductions --------------------------------------------------------------------------


@click.group("intros", invoke_without_command=True)
@now_option
@click.pass_context
@handle_errors
def intros(ctx: click.Context, now_text: str | None) -> None:
    """Who could help whom, and the introductions in flight.

    Suggestions pair someone who `seeks` what another `offers` (your [[people]]
    notes), both in touch lately, who do not already correspond. Nothing is sent:
    `ask` drafts a double-opt-in note to the one who seeks, and to the other only
    once the first has replied; the introduction itself is drafted once both have
    replied, and a follow-up some weeks after you send it.

    \b
    Example:
      circleback intros
      circleback intros ask "Mateo" "Rafael"
      circleback intros decline "Mateo" "Rafael"
    """
    if ctx.invoked_subcommand is not None:
        return
    from ..core.intros import OPEN, list_intros, suggestions

    now = _now(now_text)
    with _state(ctx.obj) as (settings, ledger):
        found = suggestions(ledger, settings, now)
        names = ledger.person_names()
        flying = list_intros(ledger, OPEN)
    print_intros(found, [(names.get(i.a, "?"), names.get(i.b, "?"), i) for i in flying])


def print_intros(found: list[Any], flying: list[tuple[str, str, Any]]) -> None:
    """Suggestions with their reason and shared context, then the ones in flight."""
    console().print("[bold]Suggested introductions[/]" if found else "No introductions to suggest right now.")
    for s in found:
        console().print(f"  • {s.a.display_name} ↔ {s.b.display_name}: {s.reason}", markup=False)
        if s.context:
            console().print(f"      shared: {'; '.join(s.context)}", markup=False)
        if s.sensitive:
            console().print("      theirs alone: circleback never asks this one on its own; `intros ask` drafts "
                            "a discreet note that does not name it", markup=False)
    if flying:
        console().print("[bold]In flight[/]")
    from ..core.intros import IntroState  # loaded already: `intros` listed them

    for a, b, i in flying:
        replied = [n for n, t in ((a, i.a_replied_at), (b, i.b_replied_at)) if t]
        extra = f" (replied: {', '.join(replied)})" if replied and i.state == IntroState.ASKED else ""
        if i.state == IntroState.ASKED and not replied:
            extra = f" ({a} first; {b} once {a} replies)"
        console().print(f"  • {a} ↔ {b}: {i.state.replace('_', ' ')}{extra} since {i.updated_at:%Y-%m-%d}",
                      markup=False)


@intros.command("ask")
@click.argument("a")
@click.argument("b")
@now_option
@click.pass_obj
@handle_errors
def intros_ask(obj: Any, a: str, b: str, now_text: str | None) -> None:
    """Draft a double-opt-in ask: to the one who seeks, and to the other once they reply.

    Nothing is sent. The one of A and B who seeks what the other offers is asked
    first, and nothing of the other's needs is said to them; the other is asked
    in the run that sees the first reply. Record a "no" with `intros decline`.

    \b
    Example:
      circleback intros ask lukas.becker@work.example "Nadia Petrova"
    """
    from ..core.intros import Introducer, find_pair

    now = _now(now_text)
    with Session(obj.settings(), obj.state_dir, lock=False) as opened:  # beside a running service too
        settings, ledger = opened.settings, opened.ledger
        account, box = draft_box(opened, now)
        first, second = find_pair(ledger, settings, a, b, now)
        intro = Introducer(ledger, settings, opened.engine.renderer, account).ask(first, second, now)
        problems = deliver(opened, account, box, now)
    for line in problems:
        click.echo(f"problem: {line}", err=True)
    asked, other = (first, second) if intro.a == first.person_id else (second, first)
    click.echo(f"Introduction {intro.id} of {asked.display_name} and {other.display_name}: an opt-in note to "
               f"{asked.display_name} is in {account}'s Drafts. {other.display_name} is asked once "
               f"{asked.first_name or asked.display_name} replies. {intro.reason}.")


@intros.command("decline")
@click.argument("a")
@click.argument("b")
@now_option
@click.pass_obj
@handle_errors
def intros_decline(obj: Any, a: str, b: str, now_text: str | None) -> None:
    """Record a "no" from A or B and close their introduction quietly.

    \b
    Example:
      circleback intros decline "Mateo" "Rafael"
    """
    from ..core.intros import Introducer, find_pair
    from ..core.templating import TemplateRenderer

    now = _now(now_text)
    with _state(obj) as (settings, ledger):
        first, second = find_pair(ledger, settings, a, b, now)
        Introducer(ledger, settings, TemplateRenderer(), "").decline(first, second, now)
    click.echo(f"Closed the introduction of {first.display_name} and {second.display_name}; nothing more "
               "will be drafted for it.")


def print_demo_intros(result: Any) -> None:
    """The demo's introductions: the pair it asked, other suggestions, and the opt-in drafts."""
    console().print()
    print_intros(result.suggestions, result.intros)
    for path in result.intro_drafts:
        console().print(f"  opt-in draft: {path}", markup=False)
