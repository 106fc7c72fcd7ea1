"""The ``circleback`` command: a thin layer over the app, the engine and the service."""

from __future__ import annotations

import gc
import json
import logging
import os
import sys
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import click

from ..app import session
from ..app import status as standing
from ..app.session import Session
from ..app.suggest import account_failure, command, command_prefix
from ..config import Settings, load_settings
from ..config.durations import months
from ..core import goals
from ..core.planner import Standing
from ..errors import AllAccountsRevoked, CirclebackError, ConfigError
from ..store.timestamps import utcnow
from .support import HelpGroup, console, now_option
from .support import handle_errors as _handle_errors
from .support import parse_now as _parse_now


class Context:
    def __init__(self, config: Path | None, state_dir: Path | None) -> None:
        # "~/…" as typed in quotes or in a unit file's Environment= reaches us unexpanded
        self.config_path = config.expanduser() if config else session.default_config_path()
        self.state_dir = state_dir.expanduser() if state_dir else session.default_state_dir()

    def settings(self) -> Settings:
        return load_settings(self.config_path)


@click.group(cls=HelpGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="circleback", prog_name="circleback", message="%(prog)s %(version)s")
@click.option("--config", "config", type=click.Path(path_type=Path), envvar="CIRCLEBACK_CONFIG",
              help="Config file (default: ~/.config/circleback/config.toml).")
@click.option("--state-dir", type=click.Path(path_type=Path), envvar="CIRCLEBACK_STATE_DIR",
              help="Where the ledger lives (default: ~/.local/state/circleback).")
@click.option("-v", "--verbose", count=True, help="More log lines (-vv for debug).")
@click.option("-q", "--quiet", is_flag=True, help="Only warnings and errors.")
@click.pass_context
def main(ctx: click.Context, config: Path | None, state_dir: Path | None, verbose: int, quiet: bool) -> None:
    """circleback keeps you in touch with the people who matter.

    It reads the headers of your mail and calendar (never bodies), learns when
    you last were in touch with each person, and leaves short, personal notes
    in your Drafts folder for you to edit and send. It never sends anything.

    \b
    Start here:
      circleback demo              a sample world, no account needed
      circleback config check      validate your config file
      circleback run --once        one sync-and-draft cycle
      circleback status            who is due, and why
    """
    level = logging.WARNING if quiet or not verbose else logging.DEBUG if verbose > 1 else logging.INFO
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    ctx.obj = Context(config, state_dir)


# -- demo ----------------------------------------------------------------------


@main.command()
@click.option("--dir", "directory", type=click.Path(path_type=Path),
              help="Where to build the sample world (default: a fixed folder under the system temp dir, "
                   "so a second run reuses it).")
@click.option("--fresh", is_flag=True, help="Delete an existing demo world first.")
@click.option("--now", "now_text", hidden=True, help="Pin the demo clock (ISO 8601, for tests).")
@_handle_errors
def demo(directory: Path | None, fresh: bool, now_text: str | None) -> None:
    """Build a sample world and run one real cycle on it.

    The world is a Maildir and a folder of .ics files: about 40 people over two
    years (colleagues, friends, family, a mailing list, newsletters,
    auto-replies, recurring 1:1s, a large all-hands, cancelled and declined
    meetings). The same engine the daemon uses reads it, prints who is due, and
    leaves drafts in the demo's Drafts folder. No network, no account.

    \b
    Example:
      circleback demo
      circleback demo --dir ./demo && ls ./demo/Mail/.Drafts/cur
    """
    from ..app.demo import run_demo

    result = run_demo(directory, fresh=fresh, now=_parse_now(now_text))
    _print_standings(result.standings, result.now, title=f"People in the demo world ({result.world_dir})")
    _print_needs_note(result.needs_note)
    console().print()
    written = sum(result.written.values())
    if written:
        console().print(f"[bold]{written} new draft(s)[/] ({draft_kinds(result.written)}) in {result.drafts_dir}:")
    else:
        console().print(f"No new drafts: the {len(result.waiting) + len(result.intro_drafts)} from the last run "
                        f"are still waiting in {result.drafts_dir}.")
    for path in result.new_drafts or result.waiting:
        _print_draft_file(path)
    print_demo_intros(result)
    for line in result.problems:
        _print_problem(line)
    console().print(f"\nRan in {result.seconds:.2f}s. Try: "
                    f"{command_prefix(result.config_path, result.state_dir)} status", markup=False)


def _print_draft_file(path: Path) -> None:
    from email import message_from_bytes, policy

    msg = message_from_bytes(path.read_bytes(), policy=policy.default)
    body = msg.get_body(("plain",))
    text = body.get_content() if body else ""
    lines = [ln for ln in text.splitlines() if ln.strip()][:3]
    console().print(f"\n{path}", markup=False)
    console().print(f"  To:      {msg['To']}")
    console().print(f"  Subject: {msg['Subject']}")
    for ln in lines:
        console().print(f"  │ {ln}", markup=False)


# -- run -----------------------------------------------------------------------


@main.command()
@click.option("--once", is_flag=True, help="Run one cycle and exit.")
@click.option("--interval", default="15min", show_default=True,
              help="Default time between polls of an account (e.g. 90s, 15min, 1h).")
@click.option("--now", "now_text", hidden=True, help="Pin the clock (ISO 8601, for tests).")
@click.pass_obj
@_handle_errors
def run(obj: Context, once: bool, interval: str, now_text: str | None) -> None:
    """Sync every account and leave the due notes in Drafts.

    Without --once it keeps running: each account polls at its own interval,
    a failing account backs off alone, and config edits apply without a
    restart (SIGHUP or saving the file). Under systemd it speaks sd_notify
    (Type=notify, WatchdogSec=).

    \b
    Exit codes:
      0   --once: every account synced; otherwise: stopped by SIGTERM/SIGINT
      73  state directory unusable, or another instance running
      75  --once: an account failed, none needs authorising or its config changed (the next run retries it)
      77  --once: an account needs authorising (any others synced); otherwise:
          every account needs authorising, or its credential was revoked
      78  invalid config at start; --once: an account cannot work as configured
          (a server certificate that does not verify: see ca_file), none needs authorising

    \b
    Example:
      circleback run --once       one cycle, then exit (cron, testing)
      circleback run              keep running (systemd: see systemd/)
      systemctl --user reload circleback    re-read the config now
    """
    settings = obj.settings()
    seconds = _interval_seconds(interval)
    if once:
        now = _parse_now(now_text)
        with Session(settings, obj.state_dir, connect=True, now=now) as opened:
            report = opened.engine.run_cycle(now or utcnow())
            _record_once(obj.state_dir, report)
        _print_cycle(obj, report)
        code = _once_exit_code(report)
        if code:
            sys.exit(code)
        return
    from ..service import clock, journal, loop

    params = click.get_current_context().find_root().params
    level = logging.WARNING if params.get("quiet") else logging.DEBUG if params.get("verbose", 0) > 1 else logging.INFO
    journal.configure_logging(level)
    clock = clock.ServiceClock.from_env(_parse_now(now_text))
    daemon = loop.Service(obj.config_path, obj.state_dir, settings, default_interval=seconds, clock=clock)
    sys.exit(daemon.run())  # its Session holds the instance lock until everything is closed


def _interval_seconds(text: str) -> float:
    from ..config.durations import parse_poll_interval

    try:
        return parse_poll_interval(text)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None

EX_TEMPFAIL = 75  # sysexits.h: "try again later"; the service, too, retries a failing account


def _record_once(state_dir: Path, report: Any) -> None:
    """Leave the accounts' outcome where `status` and `doctor` look for the service's."""
    from ..app.statusfile import once_status, status_path, write_status

    try:
        write_status(state_dir, once_status(report))
    except OSError as exc:
        logging.getLogger(__name__).warning("cannot write %s: %s", status_path(state_dir), exc)


def _once_exit_code(report: Any) -> int:
    """0, or why not: 77 when any account needs authorising, else 78 when one cannot work as configured
    (retrying will not help: a certificate that does not verify), else 75; 78 when the drafts this run
    wanted could not be written because of the config or a template, 75 for another reason.

    An account that needs the user must not read as "try again later": cron would retry it
    for ever and the user, never told, would never sign in again. Nor may a run that wrote none
    of the drafts it planned exit 0 ("problem: ... cannot write drafts" and then success).
    """
    total = len(report.accounts)
    failed = [a for a in report.accounts if a.error]
    if not failed:
        if not report.drafts_problem:
            return 0
        click.echo(f"error: drafts could not be written ({report.drafts_problem})", err=True)
        return ConfigError.exit_code if report.drafts_problem_is_config else EX_TEMPFAIL
    unauthorised = [a.name for a in failed if a.needs_auth]
    misconfigured = [a.name for a in failed if a.needs_config and not a.needs_auth]
    broken = [a.name for a in failed if not (a.needs_auth or a.needs_config)]
    parts = []
    if unauthorised:
        parts.append(f"{len(unauthorised)} of {total} account(s) need authorising ({', '.join(unauthorised)}; "
                     "see above)")
    if misconfigured:
        parts.append(f"{len(misconfigured)} of {total} account(s) cannot work as configured "
                     f"({', '.join(misconfigured)}; see above)")
    if broken:
        parts.append(f"{len(broken)} of {total} account(s) failed ({', '.join(broken)})")
    parts.append("the others were synced" if len(failed) < total else "nothing was synced")
    click.echo("error: " + "; ".join(parts), err=True)
    if unauthorised:
        return AllAccountsRevoked.exit_code
    return ConfigError.exit_code if misconfigured else EX_TEMPFAIL


def _account_line(obj: Context, acc: Any) -> str:
    """``home (maildir): 120 messages (80 personal)``, or what went wrong, once."""
    if acc.error:
        why = account_failure(obj, acc.name, acc.failure) if acc.failure is not None else acc.error
        return f"{acc.name} ({acc.kind}): {'needs authorising' if acc.needs_auth else 'failed'}: {why}"
    parts = []
    if acc.mail:
        parts.append(f"{acc.mail.records} messages ({acc.mail.counted} personal)")
    if acc.events:
        parts.append(f"{acc.events.records} events ({acc.events.counted} meetings)")
    if acc.skipped:
        parts.append(f"{len(acc.skipped)} skipped")
    return f"{acc.name} ({acc.kind}): " + (", ".join(parts) or "nothing new")


def _print_problem(line: str) -> None:
    from rich.markup import escape  # a problem may quote "[drafting]" or a path in brackets

    console().print(f"[yellow]problem:[/] {escape(line)}")


SKIPS_SHOWN = 5  # a run names this many of an account's skipped inputs; doctor names them all


def _print_cycle(obj: Context, report: Any) -> None:
    for acc in report.accounts:
        console().print(_account_line(obj, acc), markup=False)
        for line in acc.skipped[:SKIPS_SHOWN]:
            console().print(f"  skipped {line}", markup=False)
        if len(acc.skipped) > SKIPS_SHOWN:
            console().print(f"  … and {len(acc.skipped) - SKIPS_SHOWN} more: `circleback doctor` lists them",
                            markup=False)
    ob = report.outbox
    console().print(f"drafts: {len(ob.created)} written, {len(ob.reconciled)} reconciled, "
                  f"{len(ob.sent)} sent by you, {len(ob.deleted)} deleted by you")
    if report.plan and report.plan.quiet:
        console().print("quiet hours: no drafts now")
    if getattr(report, "digest", None):
        console().print(f"weekly digest ({report.digest.period}) is in Drafts")
    for line in report.problems + [f"{k}: {v}" for k, v in ob.failed.items()]:
        _print_problem(line)


# -- doctor --------------------------------------------------------------------------


@main.command()
@click.pass_obj
def doctor(obj: Context) -> None:
    """Check the config, state directory, tokens, accounts, clock and install.

    Each check prints one line (pass, FAIL or hint) and, when something is
    wrong, the fix. Exits 1 if any check failed; hints never fail.

    \b
    Example:
      circleback doctor
      sudo -u circleback circleback --config /etc/circleback/config.toml \\
          --state-dir /var/lib/circleback doctor
    """
    from ..app.doctor import format_check, run_checks

    checks = run_checks(obj.config_path, obj.state_dir)
    for check in checks:
        for line in format_check(check):
            click.echo(line)
    failed = sum(c.failed for c in checks)
    click.echo(f"{failed} problem(s) found." if failed else "All checks passed.")
    sys.exit(1 if failed else 0)


# -- status and plan ---------------------------------------------------------------


@main.command()
@click.option("--json", "as_json", is_flag=True,
              help="Print a JSON list of people instead of a table, one person a line.")
@click.option("--all", "show_all", is_flag=True,
              help="Show everyone, not only the 30 most urgent, and the people an import added whom you have "
                   "not written to or met yet.")
@now_option
@click.pass_obj
@_handle_errors
def status(obj: Context, as_json: bool, show_all: bool, now_text: str | None) -> None:
    """Who you are in touch with, who is due, and why.

    Reads the ledger only (no network). Run `circleback run --once` to sync first.

    \b
    Example:
      circleback status
      circleback status --json | jq '.[] | select(.due) | .name'
    """
    settings = obj.settings()
    ledger = session.open_state(obj.state_dir, read_only=True)
    now = _parse_now(now_text) or utcnow()
    shown = 0 if as_json else (1 << 30 if show_all else 30)
    rows = standing.standings(ledger, settings, now, marked=shown, imported=show_all)
    if as_json:
        _hint_if_never_synced(obj, ledger, err=True)  # stdout stays a JSON array
        click.echo(_json_lines([standing.person_json(s) for s in rows]))
        return
    _print_standings(rows if show_all else rows[:30], now, title="circleback status")
    _hint_if_never_synced(obj, ledger)
    goal = goals.month_goal(ledger, settings, now)
    console().print(goals.goal_line(goal, goals.goal_streak(ledger, settings, now)), markup=False)
    from ..app.statusfile import read_status
    from ..core.lifecycle import stale_summary
    from ..store.outbox import OutboxState

    waiting = ledger.outbox(states=(OutboxState.DRAFTED,))
    console().print(f"Drafts waiting for you: {len(waiting)}{stale_summary(ledger)}.")
    planned = len(ledger.outbox(states=(OutboxState.PENDING,)))
    if planned:  # committed, but not in the Drafts folder (yet): never counted as waiting there
        console().print(f"Planned but not in your Drafts folder yet: {planned}.")
    _print_service_status(obj, read_status(obj.state_dir))


def _json_lines(items: list[dict[str, Any]]) -> str:
    """A JSON array with one compact object a line: `jq` reads it whole, `grep` and `less` a person at a time.

    ``indent=2`` made 50,000 people 23 MB and took longer to print than to work out.
    """
    if not items:
        return "[]"
    return "[\n" + ",\n".join(json.dumps(item, separators=(",", ":")) for item in items) + "\n]"


def _hint_if_never_synced(obj: Context, ledger: Any, *, err: bool = False) -> bool:
    if ledger.has_synced():
        return False
    click.echo(f"Nothing synced yet: run `{command(obj, 'run', '--once')}` first.", err=err)
    return True


def _print_service_status(obj: Context, svc: dict[str, Any] | None) -> None:
    """What the service, or the last `run --once`, said: its summary, a rejected config edit, failing accounts."""
    from ..app.statusfile import ONCE_STATE, recorded_error

    if not svc:
        return
    if svc.get("state") == ONCE_STATE:
        console().print(f"Last `run --once` ({svc.get('updated_at')}): {svc['summary']}", markup=False)
    else:
        console().print(f"Service ({svc['state']}, pid {svc['pid']}): {svc['summary']}", markup=False)
    if svc.get("reload_error"):
        console().print(f"Config edit rejected at {svc['reload_error_at']}: {svc['reload_error']}", markup=False)
    if svc.get("drafts_problem"):
        console().print(f"Drafts could not be written: {svc['drafts_problem']}", markup=False)
    for name, acc in svc.get("accounts", {}).items():
        if acc.get("paused") or acc.get("last_error"):
            state = "paused" if acc.get("paused") else "failing"
            failure = recorded_error(name, acc)
            why = account_failure(obj, name, failure) if failure else acc.get("last_error", "")
            console().print(f"  {name}: {state}: {why}", markup=False)


@main.command()
@click.option("--sync", "do_sync", is_flag=True, help="Sync accounts into the ledger first (drafts nothing).")
@now_option
@click.pass_obj
@_handle_errors
def plan(obj: Context, do_sync: bool, now_text: str | None) -> None:
    """Dry run: what would be drafted now and why, rendered to stdout.

    Nothing is written to Drafts and no intent is recorded.

    \b
    Example:
      circleback plan
      circleback plan --sync
    """
    settings = obj.settings()
    # Only --sync writes: without it, plan reads beside a running service, as status does.
    with Session(settings, obj.state_dir, lock=do_sync, connect=do_sync) as opened:
        now = _parse_now(now_text) or utcnow()
        if do_sync:
            for acc in opened.engine.sync():
                if acc.error:
                    console().print(_account_line(obj, acc), markup=False)
        _print_plan(obj, opened, now)


def _print_plan(obj: Context, opened: Session, now: datetime) -> None:
    from ..core.drafting import compose
    from ..core.planner import in_quiet_hours, plan_cycle

    settings, ledger = opened.settings, opened.ledger
    if _hint_if_never_synced(obj, ledger):
        return
    quiet = in_quiet_hours(settings, now)
    if quiet:  # a preview is asked for now: show what the end of the quiet hours will bring
        console().print("Quiet hours now: nothing is drafted until they end. Then, as things stand:")
        awake = settings.drafting.model_copy(update={"quiet_hours": None})
        the_plan = plan_cycle(ledger, settings.model_copy(update={"drafting": awake}), now)
    else:
        the_plan = plan_cycle(ledger, settings, now)
    console().print(f"Budget left this week: {the_plan.budget_left}.")
    for note in the_plan.notes:
        s = note.standing
        console().print(f"\n[bold]{s.contact.display_name}[/] — {s.reason}; hook: {s.hook.kind if s.hook else ''}")
        try:
            draft = compose(ledger, settings, opened.engine.renderer, note, now)
        except CirclebackError as exc:
            _print_problem(str(exc))
            continue
        console().print(f"Subject: {draft.rendered.subject}\n", markup=False)
        console().print(draft.rendered.body, markup=False)
    _print_needs_note(the_plan.needs_note)
    if the_plan.over_budget:
        names = ", ".join(s.contact.display_name for s in the_plan.over_budget)
        console().print(f"\nDue but over this week's budget: {names}")


# -- config -----------------------------------------------------------------------


@main.group(cls=HelpGroup)
def config() -> None:
    """Create, check or locate the config file."""


@config.command("check")
@click.pass_obj
def config_check(obj: Context) -> None:
    """Validate the config file; print every problem with its key path.

    \b
    Example:
      circleback --config ~/.config/circleback/config.toml config check
    """
    try:
        settings = obj.settings()
    except CirclebackError as exc:
        click.echo(str(exc), err=True)
        sys.exit(exc.exit_code)
    kinds = ", ".join(f"{a.name} ({a.kind})" for a in settings.accounts) or "no accounts"
    click.echo(f"{obj.config_path}: ok — {kinds}; {len(settings.people)} people configured")
    drafts = _drafts_warning(settings)
    if drafts:
        click.echo(f"warning: {drafts}", err=True)
    from ..config import read_environment  # already read once: the settings above could be loaded

    for path, name in sorted(read_environment().variables.items()):
        click.echo(f"overridden by the environment: {'.'.join(path)} = {os.environ[name]!r} ({name})")
    written = [p for p in settings.people if p.note.strip() and not p.say.strip()]
    if written:
        from ..core.notes import read_note

        unread = sum(not read_note(p.note).quotable for p in written)
        if unread:
            click.echo(f"{unread} of {len(written)} notes will not be quoted in a draft; `circleback notes` says why")


def _drafts_warning(settings: Settings) -> str:
    """Why no draft could ever be written with these accounts, or ""."""
    from circleback.connectors.base import DRAFTS
    from circleback.connectors.registry import KINDS

    holders = [a.name for a in settings.accounts if DRAFTS in KINDS[a.kind].roles]
    chosen = settings.drafting.account
    if chosen and chosen not in holders:
        kind = settings.account(chosen).kind
        return (f"[drafting] account = {chosen!r} is of kind {kind!r}, which cannot hold drafts; "
                f"accounts that can: {', '.join(holders) or 'none'}")
    if settings.accounts and not holders:
        return ("no account can hold drafts (a maildir, imap, gmail or outlook account can): "
                "circleback would plan notes and write none")
    return ""


@config.command("path")
@click.pass_obj
def config_path(obj: Context) -> None:
    """Print where circleback looks for its config and keeps its state.

    \b
    Example:
      circleback config path
      circleback --state-dir /srv/circleback config path
    """
    click.echo(f"config: {obj.config_path}\nstate:  {obj.state_dir}")


# -- ledger -----------------------------------------------------------------------


@main.group(cls=HelpGroup)
def ledger() -> None:
    """Check the ledger (circleback's memory of who you were in touch with) or recover it."""


@ledger.command("check")
@click.pass_obj
@_handle_errors
def ledger_check(obj: Context) -> None:
    """Run SQLite's quick check on the ledger; exit 73 if it is damaged.

    \b
    Example:
      circleback ledger check
    """
    from ..app.doctor import check_ledger

    found = check_ledger(obj.state_dir)
    if not found:
        click.echo(f"no ledger yet in {obj.state_dir}: the first run makes it")
        return
    for check in found:
        click.echo(check.detail, err=check.failed)
        if check.failed:
            click.echo(f"  fix: {check.fix}", err=True)
            sys.exit(73)


@ledger.command("recover")
@click.pass_obj
@_handle_errors
def ledger_recover(obj: Context) -> None:
    """Put a damaged ledger aside and restore the last sound copy.

    Once a day, whoever writes the ledger (the service, run --once) keeps a copy
    beside it after checking it. This command moves a damaged ledger aside
    (never deletes it) and puts that copy back; the next run brings it up to
    date from your accounts. With no sound copy, the next run rebuilds from
    your accounts what they hold: when you were in touch with whom. Snoozes,
    skips and introductions in flight live only in the ledger. Drafts already
    in your Drafts folder are recognised and never written twice. Stop the
    service first: recovery needs the state directory to itself.

    \b
    Example:
      systemctl --user stop circleback && circleback ledger recover && systemctl --user start circleback
    """
    from ..app import recovery, session

    with session.instance_lock(obj.state_dir):
        done = recovery.recover(obj.state_dir, session.ledger_path(obj.state_dir))
    for line in done.lines():
        click.echo(line)


# -- shared printing -------------------------------------------------------------------


def _ago(now: datetime, then: datetime | None) -> str:
    if then is None:
        return "never"
    days = (now - then).days
    if days < 0:
        return f"in {-days}d"
    if days < 60:
        return f"{days}d ago"
    if days < 730:
        return f"{months(days)} mo ago"
    return f"{days // 365} y ago"


def _print_standings(rows: list[Standing], now: datetime, *, title: str) -> None:
    from rich.table import Table  # only for the table view: `status --json` and `run` skip it

    table = Table(title=title, title_justify="left")
    for col in ("Person", "Last contact", "Channel", "Cadence", "Due", "Why"):
        table.add_column(col)
    shared = Counter(s.contact.display_name for s in rows)
    for s in rows:
        c = s.contact
        table.add_row(
            c.display_name + (f" ({c.handle})" if shared[c.display_name] > 1 else ""),
            _ago(now, c.last_contact),
            c.last_channel + (" · your turn" if c.ball_in_my_court else ""),
            f"{s.cadence / timedelta(days=1):g}d",
            ("[yellow]suggest[/]" if s.suggested else "[bold red]due[/]") if s.due else "",
            s.reason,
        )
    console().print(table)
    _print_suggested([s for s in rows if s.due and s.suggested])


def _print_suggested(rows: list[Standing]) -> None:
    """The drifting people circleback will not write to, and how to change that."""
    if not rows:
        return
    console().print(
        f"\n{len(rows)} drifting but not named under [[people]] (marked 'suggest'): circleback drafts nothing "
        "for them. To keep in touch with one, add them to your config, e.g.:",
        markup=False,
    )
    from ..core.names import full_name_from_address

    c = rows[0].contact
    email = c.emails[0] if c.emails else ""
    name = c.display_name if "@" not in c.display_name else full_name_from_address(email) or "Their Name"
    console().print(f'  [[people]]\n  name = "{name}"\n  emails = ["{email}"]', markup=False)


def _print_needs_note(rows: list[Standing]) -> None:
    if not rows:
        return
    console().print("\n[bold]Due, but circleback has nothing specific to say (no hook, no draft).[/]")
    console().print(
        "A good hook: a `note` under [[people]] on what you value in them ('always asks the question nobody "
        "else thought of'), your own words in `say`, or a small meeting or two-way thread about a meal, a trip, "
        "a talk, photos or a new role (`circleback notes` shows how notes will read):",
        markup=False,
    )
    for s in rows:
        console().print(f"  • {s.contact.display_name} <{', '.join(s.contact.emails)}> — {s.reason}", markup=False)


class _LazyGroup(HelpGroup):
    """A command group whose module is imported the first time its commands are asked for.

    ``auth`` brings the Google and Microsoft SDKs (httplib2, requests, msal): about half a
    second of imports that ``status`` and ``run`` never need (benchmarks/core.py,
    ``status_startup_ms``). ``help`` repeats the real group's one line, so that
    ``circleback --help`` lists the group without importing it.
    """

    def __init__(self, name: str, load: Callable[[], click.Group], help: str) -> None:  # noqa: A002
        self._load: Callable[[], click.Group] | None = load
        super().__init__(name, help=help)

    @property  # type: ignore[override]
    def commands(self) -> dict[str, click.Command]:
        if self._load is not None:
            real, self._load = self._load(), None
            self.help = real.help
            self._commands.update(real.commands)
        return self._commands

    @commands.setter
    def commands(self, value: dict[str, click.Command]) -> None:
        self._commands = value


def _auth_group() -> click.Group:
    from .auth import auth

    return auth


def _templates_group() -> click.Group:
    from .templates import templates_group  # jinja2 and the sample people: only for `templates`

    return templates_group


# Commands that live in their own modules (people, introductions, imports).
from .people import draft_kinds, import_group, intros, notes, nudge, print_demo_intros, skip, snooze  # noqa: E402
from .setup import config_init, systemd_unit  # noqa: E402

auth = _LazyGroup(
    "auth", _auth_group, help="Sign in to a provider account (once; tokens are kept 0600 in the state directory)."
)
templates_group = _LazyGroup(
    "templates", _templates_group, help="Check the templates circleback writes its notes with, defaults and yours."
)
for _command in (intros, import_group, snooze, skip, nudge, notes, auth, templates_group, systemd_unit):
    main.add_command(_command)
config.add_command(config_init)

# What is imported by now (pydantic, click, the config models: some 30,000 objects) lives until
# exit. Frozen, it is out of every later collection's way, the one at interpreter exit included:
# about 25 ms of a quick command's start-up (benchmarks/core.py, ``status_startup_ms``).
gc.freeze()


if __name__ == "__main__":
    main()
