"""The calendar contract over every CalendarSource that runs here: .ics folders and CalDAV (Radicale)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from circleback.connectors.ics import IcsConnector
from circleback.daemon.config import CalDavAccount, IcsAccount
from tests.support.contract import CONTEXT, CalendarSourceContract


class IcsFolder:
    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir()
        self.connector = IcsConnector(IcsAccount(name="cal", kind="ics", path=str(root)), CONTEXT)

    def add_event(self, uid: str, text: str) -> None:
        (self.root / f"{uid}.ics").write_text(text, encoding="utf-8")

    def remove_event(self, uid: str) -> None:
        (self.root / f"{uid}.ics").unlink()


class TestIcsCalendarContract(CalendarSourceContract):
    @pytest.fixture
    def backend(self, tmp_path: Path) -> IcsFolder:
        return IcsFolder(tmp_path / "calendar")


class CalDavCalendar:
    def __init__(self, url: str) -> None:
        import caldav

        from circleback.connectors.caldav import CalDavConnector

        # Radicale with `auth = none` still wants a user name to find the principal.
        client = caldav.DAVClient(url=url, username="alice", password="x")  # noqa: S106
        self.calendar = client.principal().make_calendar(name="Contract")
        account = CalDavAccount(name="dav", url=url, calendars=["Contract"], username="alice",
                                password_env="CB_TEST_CALDAV_PASSWORD")
        self.connector = CalDavConnector(account, CONTEXT)

    def add_event(self, uid: str, text: str) -> None:
        self.calendar.save_event(text)

    def remove_event(self, uid: str) -> None:
        self.calendar.event_by_uid(uid).delete()


@pytest.mark.needs_server
class TestCalDavCalendarContract(CalendarSourceContract):
    @pytest.fixture
    def backend(self, radicale: Any, monkeypatch: pytest.MonkeyPatch) -> CalDavCalendar:
        monkeypatch.setenv("CB_TEST_CALDAV_PASSWORD", "not-checked")
        return CalDavCalendar(radicale.url)
