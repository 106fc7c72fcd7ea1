"""A draft box in memory that records what is created, read and deleted."""

from __future__ import annotations

from circleback.connectors.base import DraftRef, SyncResult


class Box:
    """A mail source and draft box in memory; ``deletable`` adds the optional delete_draft."""

    kind = "memory"

    def __init__(self, deletable: bool = True) -> None:
        self.drafts: dict[str, tuple[str, bytes]] = {}
        self.inbox: list = []
        self.n = 0
        if deletable:
            self.delete_draft = self._delete

    def sync_mail(self, cursor):  # noqa: ANN001, ANN201
        seen = (cursor or {}).get("n", 0)
        return SyncResult(self.inbox[seen:], {"n": len(self.inbox)})

    def create_draft(self, message: bytes, key: str, reply_to: str | None = None) -> DraftRef:
        self.n += 1
        self.drafts[f"d{self.n}"] = (key, message)
        return DraftRef("box", f"d{self.n}", key)

    def list_drafts(self) -> list[DraftRef]:
        return [DraftRef("box", r, k) for r, (k, _) in self.drafts.items()]

    def get_draft(self, ref: DraftRef) -> bytes | None:
        found = self.drafts.get(ref.ref)
        return found[1] if found else None

    def _delete(self, ref: DraftRef) -> None:
        self.drafts.pop(ref.ref, None)

    def close(self) -> None:
        pass

    def keys(self) -> list[str]:
        return [k for k, _ in self.drafts.values()]
