"""One cycle of circleback: sync every account, notice what the user did, plan, draft.

The same function serves ``circleback demo``, ``run --once`` and the service
loop. It takes connector objects, a ledger and settings; it knows nothing of
the CLI or of where the config came from (docs/STYLE.md #1). One account's failure
is reported and never stops the others (docs/STYLE.md #7).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from circleback.connectors.base import CalendarSource, Connector, DraftBox, MailSource, Skip
from circleback.connectors.errors import AccountConfigError, AuthRevoked, ConnectorError

from ..config import Settings
from ..errors import CirclebackError, DraftsBusy, StateError
from ..store.ledger import Ledger
from ..store.timestamps import utcnow
from . import faults
from .classify import Identity
from .contacts import apply_people
from .digest import DigestDraft, commit_digest
from .drafting import Draft, compose
from .ingest import IngestCounts, ingest_events, ingest_mail
from .intros import Introducer, IntroReport
from .lifecycle import LifecycleReport, review
from .outbox import Checkpoint, Outbox, OutboxReport
from .planner import Plan, plan_cycle
from .templating import TemplateRenderer

log = logging.getLogger(__name__)

SKIPS_LOGGED = 10  # new skipped inputs an account logs as warnings in one sync; the rest are counted
SKIPS_KEPT = timedelta(days=30)  # how long a skipped input is remembered (doctor lists these)


@dataclass(slots=True)
class AccountReport:
    name: str
    kind: str
    mail: IngestCounts | None = None
    events: IngestCounts | None = None
    skipped: list[str] = field(default_factory=list)  # one line per skipped input
    error: str = ""  # why the sync failed, without the account's name (see account_error)
    needs_auth: bool = False  # failed because its credential is missing or revoked
    needs_config: bool = False  # failed because it cannot work as configured (a certificate that does not verify)
    failure: BaseException | None = None  # what was raised: its fields word the fix for the caller's command line


@dataclass(slots=True)
class CycleReport:
    now: datetime
    accounts: list[AccountReport]
    plan: Plan | None = None
    drafts: list[Draft] = field(default_factory=list)  # composed and committed this cycle
    outbox: OutboxReport = field(default_factory=OutboxReport)
    problems: list[str] = field(default_factory=list)  # one line each: template or build errors
    draft_account: str = ""
    lifecycle: LifecycleReport = field(default_factory=LifecycleReport)
    intros: IntroReport = field(default_factory=IntroReport)
    digest: DigestDraft | None = None  # this week's digest, when committed this cycle
    # Why drafts this cycle wanted could not be written, or "": a run that could not do what it
    # was asked says so in its exit code, in `status` and in `doctor` (issue 15).
    drafts_problem: str = ""
    drafts_problem_is_config: bool = False  # the user must fix the config or a template, not wait

    def could_not_draft(self, problem: str, *, config: bool = False, listed: bool = True) -> None:
        if listed:  # else the caller lists the details itself (the outbox's failed keys)
            self.problems.append(problem)
        if not self.drafts_problem:
            self.drafts_problem, self.drafts_problem_is_config = problem, config


def account_error(account: str, exc: BaseException, *, sign_in_command: str | None = None) -> str:
    """Why ``account`` failed, in one line that does not repeat its name.

    Every caller prints the account's name itself, so an error about this account is worded
    from its fields without it. ``sign_in_command`` is the ``auth`` command the error asks for,
    as the caller suggests it (with its --config and --state-dir); default, the bare one.
    """
    text = str(exc)
    if isinstance(exc, CirclebackError) and exc.account == account:
        text = exc.reason(sign_in_command)
    return " ".join(text.split()) or type(exc).__name__


def draft_account(settings: Settings, connectors: Mapping[str, Connector]) -> str | None:
    """The account drafts go to: configured, else the first that holds drafts."""
    if settings.drafting.account:
        return settings.drafting.account
    for name, conn in connectors.items():
        if isinstance(conn, DraftBox):
            return name
    return None


class Engine:
    def __init__(
        self,
        settings: Settings,
        ledger: Ledger,
        connectors: Mapping[str, Connector],
        *,
        renderer: TemplateRenderer | None = None,
        checkpoint: Checkpoint = faults.checkpoint,
        drafts_guard: Callable[[], AbstractContextManager[object]] = nullcontext,
    ) -> None:
        self.settings = settings
        self.ledger = ledger
        self.connectors = connectors
        self.renderer = renderer or TemplateRenderer(
            Path(settings.drafting.templates_dir) if settings.drafting.templates_dir else None
        )
        self.checkpoint = checkpoint
        # Held while pending intents become drafts, so that a command beside the service (nudge,
        # intros ask) and the service never write the same intent twice (app/session.drafts_lock).
        self.drafts_guard = drafts_guard

    # -- sync ---------------------------------------------------------------

    def sync(self) -> list[AccountReport]:
        who = Identity.from_settings(self.settings)
        apply_people(self.ledger, self.settings)
        reports = []
        for name, conn in self.connectors.items():
            report = AccountReport(name, conn.kind)
            try:
                self._sync_account(name, conn, who, report)
            except StateError:
                raise  # the ledger (full, damaged, failing): not this account's failure; stop the cycle
            except (CirclebackError, OSError) as exc:
                report.error, report.failure = account_error(name, exc), exc
                report.needs_auth = isinstance(exc, AuthRevoked)
                report.needs_config = isinstance(exc, AccountConfigError)
                # INFO: the report carries the failure; `run --once` prints it and the service logs it.
                log.info("account %s: sync failed: %s", name, report.error)
            reports.append(report)
        return reports

    def _sync_account(self, name: str, conn: Connector, who: Identity, report: AccountReport) -> None:
        if isinstance(conn, MailSource):
            result = conn.sync_mail(self.ledger.cursor(name, "mail"))
            report.mail = ingest_mail(self.ledger, name, result, who)
            self._skipped(name, result.skipped, report)
            self.checkpoint("after-mail-sync")
        if isinstance(conn, CalendarSource):
            result = conn.sync_events(self.ledger.cursor(name, "calendar"))
            report.events = ingest_events(self.ledger, name, result, who)
            self._skipped(name, result.skipped, report)
            self.checkpoint("after-calendar-sync")

    def _skipped(self, name: str, skips: Sequence[Skip], report: AccountReport) -> None:
        """Each input the account could not use: in the report, and in the log the first time it is seen."""
        if not skips:
            return
        now, news = utcnow(), 0
        with self.ledger.transaction():
            self.ledger.forget_skips_before(now - SKIPS_KEPT)
            for skip in skips:
                report.skipped.append(f"{skip.where}: {skip.why}")
                first = self.ledger.remember_skip(name, skip.where, skip.why, now)
                news += first
                loud = first and news <= SKIPS_LOGGED  # a converted archive could skip thousands
                log.log(logging.WARNING if loud else logging.DEBUG, "account %s: skipped %s: %s",
                        name, skip.where, skip.why)
        if news > SKIPS_LOGGED:
            log.warning("account %s: and %d more inputs skipped for the first time: `circleback doctor` lists them",
                        name, news - SKIPS_LOGGED)

    # -- the whole cycle ------------------------------------------------------

    def run_cycle(self, now: datetime, *, write: bool = True) -> CycleReport:
        """Sync, observe the draft box, plan and (if ``write``) draft."""
        report = CycleReport(now, self.sync())
        for account in report.accounts:  # drafts the user sent, seen in Sent by the sync itself
            for key in account.mail.drafts_sent if account.mail else ():
                if (entry := self.ledger.outbox_entry(key)) is not None:
                    report.outbox.sent.append(entry)
        box_name = draft_account(self.settings, self.connectors)
        box = self.connectors.get(box_name) if box_name else None
        outbox = None
        # The draft account's own sync failure already says why its drafts cannot be read.
        box_failed = any(a.error for a in report.accounts if a.name == box_name)
        if isinstance(box, DraftBox) and box_name:
            report.draft_account = box_name
            outbox = Outbox(self.ledger, box, box_name, self.checkpoint)
            try:
                outbox.observe(now, report.outbox)
                review(self.ledger, box, box_name, self.settings, now, report.lifecycle)
            except (ConnectorError, OSError) as exc:
                if not box_failed:
                    report.could_not_draft(f"{box_name}: cannot list drafts: {account_error(box_name, exc)}",
                                           config=isinstance(exc, AccountConfigError))
                box_failed, outbox = True, None
        if write and outbox is not None:
            # Before planning check-ins: an ask or introduction drafted now is an open draft for that person.
            introducer = Introducer(self.ledger, self.settings, self.renderer, box_name or "")
            introducer.advance(now, report.intros)
            if self.settings.intros.auto_ask:
                try:
                    introducer.auto_ask(now, report.intros)
                except CirclebackError as exc:
                    report.intros.problems.append(str(exc))
            report.problems += report.intros.problems
        report.plan = plan_cycle(self.ledger, self.settings, now)
        if not write:
            return report
        if outbox is None:
            if report.plan.notes and not box_failed:
                report.could_not_draft(
                    "no account can hold drafts: add a maildir account or set [drafting] account", config=True
                )
            return report
        if report.plan.quiet:
            return report  # drafts appear only outside quiet hours, pending ones included
        self._commit_intents(report, box_name or "", now)
        self._commit_digest(report, box_name or "", now)
        try:
            with self.drafts_guard():
                outbox.deliver(now, report.outbox)
        except DraftsBusy as exc:
            report.problems.append(f"{box_name}: drafts not written this time: {exc}")  # next cycle writes them
        except (ConnectorError, OSError) as exc:
            report.could_not_draft(f"{box_name}: cannot write drafts: {account_error(box_name or '', exc)}",
                                   config=isinstance(exc, AccountConfigError))
        if report.outbox.failed and not report.drafts_problem:
            report.could_not_draft(f"{box_name}: {len(report.outbox.failed)} draft(s) could not be written: "
                                   f"{next(iter(report.outbox.failed.values()))}", listed=False)
        return report

    def _commit_digest(self, report: CycleReport, account: str, now: datetime) -> None:
        """After the notes, so that the digest lists them among the drafts waiting."""
        try:
            digest = commit_digest(self.ledger, self.settings, self.renderer, account, now)
        except CirclebackError as exc:
            report.problems.append(f"weekly digest: {exc}")
            return
        if digest is not None:
            report.digest = digest
            self.checkpoint("after-digest-commit")

    def _commit_intents(self, report: CycleReport, account: str, now: datetime) -> None:
        assert report.plan is not None
        for note in report.plan.notes:
            try:
                draft = compose(self.ledger, self.settings, self.renderer, note, now)
            except CirclebackError as exc:  # a template or message error: the user's to fix
                report.could_not_draft(f"{note.standing.contact.display_name}: {exc}", config=True)
                continue
            with self.ledger.transaction():
                added = self.ledger.add_intent(
                    key=note.key,
                    person_id=note.standing.contact.person_id,
                    kind=note.kind,
                    period=note.period,
                    account=account,
                    recipient=draft.recipient.email,
                    message_id=draft.message_id,
                    message=draft.message,
                    now=now,
                )
            if added:
                report.drafts.append(draft)
                self.checkpoint("after-intent-commit")
