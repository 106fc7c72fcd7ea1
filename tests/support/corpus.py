"""Where the real-world corpus lives: tests/data/corpus inside the repository.

Files written by others (mail, calendar, Graph API samples), copied in unchanged with
their provenance and licenses (tests/data/corpus/README.md, SOURCES.md, MANIFEST.tsv),
so a fresh clone runs its tests with nothing beside it.
"""

from __future__ import annotations

from pathlib import Path

CORPUS = Path(__file__).resolve().parents[1] / "data" / "corpus"

# A missing corpus (or part of it) must fail loudly, never turn into zero tests.
_missing = [part for part in ("email", "email/enron", "calendar", "api/msgraph") if not (CORPUS / part).is_dir()]
if _missing:
    raise RuntimeError(f"corpus incomplete at {CORPUS} (missing {', '.join(_missing)}): it is part of the repository")
