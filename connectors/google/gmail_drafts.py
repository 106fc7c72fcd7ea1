"""What the Gmail connector knows of the Drafts folder, kept up to date from history.

The outbox asks every cycle which of our drafts are still in Drafts. Asking Gmail
(drafts.list, then a drafts.get per draft to read its ``X-Circleback-Key``) costs
5 + 5N units and 1 + N requests; instead the connector remembers which draft id
holds which message and key, and follows the history it reads anyway:

* a draft message of ours that gets ``SENT`` (``labelsAdded``, or ``DRAFT`` removed from a
  message that is in Sent, or added again as a Sent message) was sent: it leaves the view,
  and the sync reads it as mail, key and all, so the ledger marks the draft sent;
* a draft message of ours deleted (``messagesDeleted``), or losing ``DRAFT`` without being
  sent, was deleted - or saved again: Gmail gives a draft a new message id each time it
  is saved (an edit in Gmail, drafts.update), so the old message is deleted then too.
  Only drafts.list tells the two apart, so the view is marked stale;
* a draft message we do not know (the user's own, an edit, or a drafts.create whose
  answer was lost) also marks it stale.

A stale view is refreshed by one drafts.list (ids of the drafts and their messages),
plus a drafts.get only for a draft id never seen before. An idle poll leaves the view
as it is, so the outbox's question costs no request at all.

The view lives in a private file beside the account's token (written atomically,
0600), with the history id it is valid from. History can be replayed over a view
newer than the cursor (it only marks it stale or drops what is gone already), never the
other way round: a view older than the cursor the sync starts from is stale.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import TokenFileError
from ..tokens import read_private, write_private

log = logging.getLogger(__name__)

VIEW_VERSION = 1


@dataclass(slots=True)
class Draft:
    message_id: str  # the draft's message now (a new one each time it is saved)
    key: str  # our X-Circleback-Key, "" for the user's own drafts
    written: str = ""  # the message id drafts.create gave it: unchanged means unedited ("" unknown)


@dataclass(slots=True)
class DraftsView:
    drafts: dict[str, Draft] = field(default_factory=dict)  # draft id -> Draft, in drafts.list order
    history_id: str = ""  # valid from this history id on
    stale: bool = False  # history showed a change only drafts.list can explain

    # -- following history ----------------------------------------------------------------------

    def follow(self, page: dict[str, Any]) -> None:
        """Applies one history.list page (see the module docstring)."""
        by_message = {d.message_id: did for did, d in self.drafts.items()}
        for record in page.get("history", []):
            for added in record.get("messagesAdded", []):
                msg = added.get("message") or {}
                labels = set(msg.get("labelIds", []))
                if msg.get("id") in by_message:
                    if "SENT" in labels and "DRAFT" not in labels:
                        self._sent(by_message, msg["id"])
                elif "DRAFT" in labels:
                    self.stale = True
            for deleted in record.get("messagesDeleted", []):
                if (deleted.get("message") or {}).get("id") in by_message:
                    self.stale = True
            for change in record.get("labelsAdded", []):
                mid = (change.get("message") or {}).get("id")
                if mid in by_message and "SENT" in change.get("labelIds", []):
                    self._sent(by_message, mid)
            for change in record.get("labelsRemoved", []):
                msg = change.get("message") or {}
                if msg.get("id") in by_message and "DRAFT" in change.get("labelIds", []):
                    if "SENT" in msg.get("labelIds", []):
                        self._sent(by_message, msg["id"])
                    else:
                        self.stale = True

    def _sent(self, by_message: dict[str, str], message_id: str) -> None:
        self.drafts.pop(by_message.pop(message_id), None)

    # -- drafts.list --------------------------------------------------------------------------

    def unknown(self, listed: Iterable[tuple[str, str]]) -> list[str]:
        """The draft ids in a drafts.list answer never seen before: their key must be read."""
        return [did for did, _ in listed if did not in self.drafts]

    def refreshed(self, listed: list[tuple[str, str]], keys: dict[str, str], written: dict[str, str]) -> DraftsView:
        """The view drafts.list gives: ``listed`` (draft id, message id), ``keys`` read for new ids.

        A known draft keeps its key when its message changed (the user edited our draft: it is
        still waiting, now theirs); a new draft id without a key read (deleted meanwhile) is left out.
        """
        fresh: dict[str, Draft] = {}
        for did, mid in listed:
            old = self.drafts.get(did)
            if old is not None:
                fresh[did] = Draft(mid, old.key, old.written or written.get(did, ""))
            elif did in keys:
                fresh[did] = Draft(mid, keys[did], written.get(did, ""))
        return DraftsView(fresh, self.history_id, stale=False)

    # -- the file ------------------------------------------------------------------------------

    def to_json(self) -> bytes:
        return json.dumps({
            "version": VIEW_VERSION, "history_id": self.history_id, "stale": self.stale,
            "drafts": {did: [d.message_id, d.key, d.written] for did, d in self.drafts.items()},
        }).encode()

    @classmethod
    def load(cls, path: Path) -> DraftsView | None:
        """The view saved at ``path``; None if there is none (or it cannot be read: drafts.list rebuilds it)."""
        try:
            raw = read_private(path)
            if raw is None:
                return None
            data = json.loads(raw)
            if data.get("version") != VIEW_VERSION:
                return None
            drafts = {str(did): Draft(str(v[0]), str(v[1]), str(v[2])) for did, v in data["drafts"].items()}
            return cls(drafts, str(data.get("history_id", "")), bool(data.get("stale", True)))
        except (TokenFileError, ValueError, KeyError, TypeError, IndexError, AttributeError) as exc:
            log.warning("%s: drafts state not readable (%s); Drafts will be listed again", path, exc)
            return None

    def save(self, path: Path, data: bytes | None = None) -> None:
        write_private(path, self.to_json() if data is None else data)


def older(history_id: str, than: str) -> bool:
    """Gmail history ids grow; a view saved before the cursor's id may have missed changes."""
    try:
        return int(history_id) < int(than)
    except ValueError:
        return True
