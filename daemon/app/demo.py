"""``circleback demo``: a sample world, one real cycle of the daemon's engine, a report.

The world is rebuilt deterministically from an anchor date kept in the demo
folder, so a second run in the same folder finds the same world, the same
ledger and the drafts it left: it adds none.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import Any

from ..config import load_settings
from ..core.engine import Engine, draft_account
from ..core.intros import INTRO_KINDS, Introducer, list_intros, suggestions
from ..core.outbox import Outbox, OutboxReport
from ..core.planner import Standing
from ..errors import StateError
from ..store.outbox import OutboxState
from .demo_world import ZONE, build_world
from .session import Session

_MARKER = "circleback-demo.txt"
# The demo config's quiet hours are 21:00-07:00 London (demo_world._config_toml): a run inside
# them is dated at this time the evening before they ended, so that it still drafts.
_LAST_CALL = clock_time(20, 30)


@dataclass(slots=True)
class DemoResult:
    world_dir: Path
    config_path: Path
    state_dir: Path
    drafts_dir: Path
    now: datetime
    standings: list[Standing]
    needs_note: list[Standing]
    new_drafts: list[Path] = field(default_factory=list)
    waiting: list[Path] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0
    suggestions: list[Any] = field(default_factory=list)  # intros.Suggestion, after the ask
    intros: list[tuple[str, str, Any]] = field(default_factory=list)  # (name a, name b, intros.Intro)
    intro_drafts: list[Path] = field(default_factory=list)  # opt-in asks and other intro drafts
    written: Counter[str] = field(default_factory=Counter)  # drafts written by this run, by kind


def default_demo_dir() -> Path:
    import os

    return Path(tempfile.gettempdir()) / f"circleback-demo-{os.getuid()}"


def _anchor(directory: Path, now: datetime | None) -> datetime:
    """The demo's 'now': kept in the folder so reruns see the same world."""
    marker = directory / _MARKER
    if marker.exists():
        text = marker.read_text(encoding="utf-8").strip()
        try:
            return datetime.fromisoformat(text)
        except ValueError:
            raise StateError(f"{marker}: not a demo marker; use --fresh or another --dir") from None
    if now is None:
        now = demo_now(datetime.now(UTC))
    directory.mkdir(parents=True, exist_ok=True)
    marker.write_text(now.isoformat() + "\n", encoding="utf-8")
    return now


def demo_now(wall: datetime) -> datetime:
    """The demo's clock for a run at ``wall``: that moment, or, in the small hours or late evening
    (the demo's quiet hours), the last evening before them. Never later than ``wall``: a draft
    dated in the future sorts above everything in the Drafts folder."""
    local = wall.astimezone(ZONE).replace(microsecond=0)
    if clock_time(7) <= local.time() < clock_time(21):
        return local.astimezone(UTC)
    evening = local.date() - timedelta(days=1 if local.time() < clock_time(7) else 0)
    return datetime.combine(evening, _LAST_CALL, ZONE).astimezone(UTC)


def run_demo(directory: Path | None, *, fresh: bool = False, now: datetime | None = None) -> DemoResult:
    started = time.perf_counter()
    directory = (directory or default_demo_dir()).resolve()
    if fresh and directory.exists():
        if not (directory / _MARKER).exists():
            raise StateError(f"{directory}: not a demo folder (no {_MARKER}); refusing to delete it")
        shutil.rmtree(directory)
    if directory.exists() and any(directory.iterdir()) and not (directory / _MARKER).exists():
        raise StateError(f"{directory}: exists and is not a demo folder; pass an empty or new --dir")
    anchor = _anchor(directory, now)
    world = build_world(directory, anchor=anchor)
    settings = load_settings(world.config_path, environ=False)
    state_dir = directory / "state"
    drafts_dir = world.maildir / ".Drafts"
    with Session(settings, state_dir, connect=True, now=anchor) as opened:
        engine, ledger = opened.engine, opened.ledger
        # The ask first, as the daemon's auto_ask does: its drafts are open drafts the plan
        # sees, so no one gets an introduction ask and a check-in from one run.
        engine.sync()
        asks = OutboxReport()
        asked = _ask_once(engine, draft_account(settings, opened.connectors) or "", anchor, asks)
        report = engine.run_cycle(anchor)
        report.outbox.created[:0] = asks.created
        waiting = ledger.outbox(states=(OutboxState.DRAFTED,))
        suggested = suggestions(ledger, settings, anchor)
        names = ledger.person_names()
        flying = [(names.get(i.a, "?"), names.get(i.b, "?"), i) for i in list_intros(ledger)]
    assert report.plan is not None
    created = {e.key for e in report.outbox.created}
    result = DemoResult(
        world_dir=directory,
        config_path=world.config_path,
        state_dir=state_dir,
        drafts_dir=drafts_dir,
        now=anchor,
        standings=report.plan.standings,
        needs_note=report.plan.needs_note,
        problems=report.problems + [f"{a.name}: {a.error}" for a in report.accounts if a.error],
    )
    result.suggestions, result.intros = asked + suggested, flying
    result.written = Counter(e.kind for e in report.outbox.created)
    for entry in waiting:
        path = _draft_file(drafts_dir, entry.ref or "")
        if path is None:
            continue
        if entry.kind in INTRO_KINDS:
            result.intro_drafts.append(path)
        else:
            (result.new_drafts if entry.key in created else result.waiting).append(path)
    result.seconds = time.perf_counter() - started
    return result


def _ask_once(engine: Engine, account: str, now: datetime, written: OutboxReport) -> list[Any]:
    """The demo's first run asks its best-suggested pair, as `circleback intros ask` would."""
    if not account or list_intros(engine.ledger):
        return []  # asked on an earlier run: a rerun adds no draft
    found = suggestions(engine.ledger, engine.settings, now)
    if not found:
        return []
    Introducer(engine.ledger, engine.settings, engine.renderer, account).ask(found[0].a, found[0].b, now)
    box = engine.connectors[account]
    Outbox(engine.ledger, box, account).deliver(now, written)  # type: ignore[arg-type]
    return found[:1]


def _draft_file(drafts_dir: Path, ref: str) -> Path | None:
    if not ref:
        return None
    for sub in ("cur", "new"):
        for path in sorted((drafts_dir / sub).glob(f"{ref}*")):
            return path
    return None
