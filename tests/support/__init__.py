"""What the tests share: fakes of the providers, real servers, contracts, records, the corpus.

Test modules import these as ``tests.support.<module>``; fixtures live in the ``conftest.py``
of the folder whose tests use them.
"""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # the repository
DATA = ROOT / "tests" / "data"
