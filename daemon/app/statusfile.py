"""``state_dir/service-status.json``: what the running service, or the last ``run --once``, did,
for ``status`` and ``doctor``."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..core.engine import CycleReport
from ..errors import CirclebackError
from ..store.timestamps import iso_or_none

log = logging.getLogger(__name__)

STATUS_FILE = "service-status.json"


def status_path(state_dir: Path) -> Path:
    return state_dir / STATUS_FILE


def write_status(state_dir: Path, data: Mapping[str, Any]) -> None:
    """Atomically: ``status`` may read it at any moment, and a crash must not leave half a file."""
    path = status_path(state_dir)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=2, sort_keys=True)
        fh.write("\n")
    os.replace(tmp, path)  # no fsync: losing the last status in a power cut is harmless


def read_status(state_dir: Path) -> dict[str, Any] | None:
    """The running (or last) service's status, for ``circleback status`` and ``doctor``."""
    try:
        return json.loads(status_path(state_dir).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def error_fields(account: str, failure: BaseException | None) -> dict[str, str | None] | None:
    """The fields of the error ``account`` failed with, when it is one of ours about that account.

    Kept beside ``last_error`` so that ``status`` words the fix as ``run`` does, with its own
    --config and --state-dir (``suggest.account_failure``), never by rewriting the stored line.
    """
    if not isinstance(failure, CirclebackError) or failure.account != account:
        return None
    return {"message": failure.message, "remedy": failure.remedy, "provider": failure.provider}


def recorded_error(account: str, entry: Mapping[str, Any]) -> CirclebackError | None:
    """The error an account's entry in the status file records (``error_fields``), or None."""
    fields = entry.get("error")
    if not isinstance(fields, Mapping) or not isinstance(fields.get("message"), str):
        return None
    return CirclebackError(fields["message"], account=account, provider=fields.get("provider"),
                           remedy=fields.get("remedy"))


ONCE_STATE = "ran once"


def once_status(report: CycleReport) -> dict[str, Any]:
    """What ``run --once`` leaves for ``status`` and ``doctor``: the service's file, the same keys."""
    paused = sum(a.needs_auth for a in report.accounts)
    failing = sum(bool(a.error) for a in report.accounts) - paused
    parts = [f"{len(report.accounts)} account(s)"]
    if failing:
        parts.append(f"{failing} failing")
    if paused:
        parts.append(f"{paused} paused (needs authorising)")
    parts.append(f"{len(report.outbox.created)} draft(s) written")
    if report.drafts_problem:
        parts.append("drafts could not be written")
    return {
        "state": ONCE_STATE,
        "pid": os.getpid(),
        "summary": ", ".join(parts),
        "updated_at": iso_or_none(report.now),
        "drafts_problem": report.drafts_problem or None,
        "accounts": {
            a.name: {"kind": a.kind, "last_sync": None if a.error else iso_or_none(report.now),
                     "last_error": a.error or None, "error": error_fields(a.name, a.failure), "paused": a.needs_auth}
            for a in report.accounts
        },
    }
