"""Fault injection for the chaos tests: die at the Nth checkpoint of a run.

``CIRCLEBACK_CRASH_AFTER=N`` makes the process exit abruptly (``os._exit``,
like a SIGKILL: no cleanup, no commit) at its Nth checkpoint. Checkpoints sit
between every ledger commit and every draft-box write, exactly where a crash
could otherwise lose an intent or duplicate a draft. Unset, it costs nothing.
"""

from __future__ import annotations

import os

CRASH_EXIT_CODE = 86
_ENV = "CIRCLEBACK_CRASH_AFTER"


class _Counter:
    def __init__(self) -> None:
        raw = os.environ.get(_ENV, "")
        self.limit = int(raw) if raw.isdigit() else 0
        self.seen = 0

    def __call__(self, label: str) -> None:
        if not self.limit:
            return
        self.seen += 1
        if self.seen >= self.limit:
            os.write(2, f"circleback: injected crash at checkpoint {self.seen} ({label})\n".encode())
            os._exit(CRASH_EXIT_CODE)


checkpoint = _Counter()
