"""The service's clock: the wall clock, or a faster one for the soak benchmark and the kill tests."""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

log = logging.getLogger(__name__)

# Test-only: the service's clock runs this many times faster than the wall clock
# (the soak benchmark and the kill tests). Never set it in production.
SPEEDUP_ENV = "CIRCLEBACK_CLOCK_SPEEDUP"


@dataclass
class ServiceClock:
    """Virtual seconds for scheduling and an aware ``now`` for the engine.

    ``start`` pins the wall clock (tests); ``speedup`` compresses time (tests and
    the soak benchmark only). Both unset: the real clocks.
    """

    start: datetime | None = None
    speedup: float = 1.0
    _m0: float = field(default_factory=time.monotonic)

    @classmethod
    def from_env(cls, start: datetime | None) -> ServiceClock:
        raw = os.environ.get(SPEEDUP_ENV, "")
        try:
            speedup = max(1.0, float(raw)) if raw else 1.0
        except ValueError:
            speedup = 1.0
        return cls(start=start, speedup=speedup)

    @property
    def artificial(self) -> bool:
        return self.start is not None or self.speedup != 1.0

    def monotonic(self) -> float:
        return (time.monotonic() - self._m0) * self.speedup

    def now(self) -> datetime:
        # Whole seconds: a draft's Date header carries no microseconds, and the message
        # builder compares the re-parsed header with the time it was given.
        if not self.artificial:
            return datetime.now(UTC).replace(microsecond=0)
        if self.start is None:
            self.start = datetime.now(UTC) - timedelta(seconds=self.monotonic())
        return (self.start + timedelta(seconds=self.monotonic())).replace(microsecond=0)

    def real_seconds(self, virtual: float) -> float:
        return virtual / self.speedup


# -- intervals -------------------------------------------------------------------------
