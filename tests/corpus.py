"""Where the shared real-world corpus lives: ../shared/corpus beside the repository.

CI clones the repository with ``shared/`` beside it; ``CIRCLEBACK_CORPUS``
overrides the location. The corpus is read in place, never copied in.
"""

from __future__ import annotations

import os
from pathlib import Path

CORPUS = Path(os.environ.get("CIRCLEBACK_CORPUS") or Path(__file__).resolve().parents[2] / "shared" / "corpus")

if not CORPUS.is_dir():  # a missing corpus must fail loudly, never turn into zero tests
    raise RuntimeError(f"corpus not found at {CORPUS}: put shared/ beside the repository or set CIRCLEBACK_CORPUS")
