"""journald-friendly logging: one line a record, with the syslog priority when stderr is the journal."""

from __future__ import annotations

import logging
import os

log = logging.getLogger(__name__)


# -- logging ------------------------------------------------------------------------

_PRIORITY = {logging.CRITICAL: 2, logging.ERROR: 3, logging.WARNING: 4, logging.INFO: 6, logging.DEBUG: 7}


def journal_stream() -> bool:
    """True when stderr really is the journal (systemd.exec(5), $JOURNAL_STREAM)."""
    value = os.environ.get("JOURNAL_STREAM", "")
    dev, _, ino = value.partition(":")
    if not (dev.isdigit() and ino.isdigit()):
        return False
    try:
        st = os.fstat(2)
    except OSError:
        return False
    return (st.st_dev, st.st_ino) == (int(dev), int(ino))


class OneLineFormatter(logging.Formatter):
    """One record, one line; ``<N>`` priority prefixes and no timestamp for journald."""

    def __init__(self, journal: bool) -> None:
        fmt = "%(name)s: %(message)s" if journal else "%(asctime)s %(levelname)s %(name)s: %(message)s"
        super().__init__(fmt)
        self.journal = journal

    def format(self, record: logging.LogRecord) -> str:
        record = logging.makeLogRecord(record.__dict__)
        record.msg = record.getMessage().replace("\n", "; ")  # a ConfigError lists one problem a line
        record.args = None
        lines = super().format(record).splitlines()
        if not self.journal:
            return "\n".join(lines)
        prefix = f"<{_PRIORITY.get(record.levelno, 6)}>"
        return "\n".join(prefix + line for line in lines)  # a traceback keeps its priority per line


def configure_logging(level: int) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(OneLineFormatter(journal_stream()))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)


# -- clock ---------------------------------------------------------------------------
