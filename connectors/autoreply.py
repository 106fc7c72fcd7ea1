"""An automatic reply known by its subject, for providers that show no Auto-Submitted header.

Exchange marks its out-of-office replies with ``Auto-Submitted: auto-replied`` (RFC 3834), but
Graph's message delta hands out properties, not headers, so on Graph the subject is what is left.
Exchange writes the prefix in the language of the replying mailbox: "Automatic reply: <the
subject>", "Automatische Antwort: ...", "Réponse automatique : ..." (French puts a space before
the colon), "自動応答: ...". Exchange 2003 and older Outlook clients wrote "Out of Office
AutoReply:", "Out of Office:", "Abwesenheitsnotiz:" or "Absence du bureau :".

Only the very start of the subject counts: "RE: Automatic reply: ..." is a person answering one.
"""

from __future__ import annotations

import re

# The prefix as Exchange and Outlook write it, per language; compared case-insensitively.
AUTO_REPLY_PREFIXES: tuple[str, ...] = (
    "automatic reply",  # en (Exchange 2007 and later)
    "auto-reply",
    "autoreply",
    "auto reply",
    "out of office autoreply",  # en (Exchange 2003)
    "out of office",
    "automatische antwort",  # de
    "abwesenheitsnotiz",  # de (Exchange 2003)
    "réponse automatique",  # fr
    "absence du bureau",  # fr (Exchange 2003)
    "respuesta automática",  # es
    "automatisch antwoord",  # nl
    "risposta automatica",  # it
    "resposta automática",  # pt
    "automatiskt svar",  # sv
    "automatisk svar",  # da, nb, nn
    "automaattinen vastaus",  # fi
    "odpowiedź automatyczna",  # pl
    "automatická odpověď",  # cs
    "automatická odpoveď",  # sk
    "automatikus válasz",  # hu
    "răspuns automat",  # ro
    "samodejni odgovor",  # sl
    "automatski odgovor",  # hr, sr (Latin)
    "автоматический ответ",  # ru
    "автоматична відповідь",  # uk
    "αυτόματη απάντηση",  # el
    "otomatik yanıt",  # tr
    "自動応答",  # ja
    "自动回复",  # zh-Hans
    "自动答复",  # zh-Hans (Exchange Online)
    "自動回覆",  # zh-Hant
    "자동 회신",  # ko
)

# The phrase, any spaces (a no-break space before the French colon too), then a colon, ASCII or
# full-width as CJK subjects write it.
_AUTO_REPLY = re.compile(
    r"^\s*(?:" + "|".join(re.escape(p) for p in sorted(AUTO_REPLY_PREFIXES, key=len, reverse=True)) + r")\s*[:：]",
    re.IGNORECASE,
)


def is_auto_reply_subject(subject: str) -> bool:
    """True when ``subject`` opens with the prefix Outlook gives an automatic reply."""
    return bool(subject) and _AUTO_REPLY.match(subject) is not None
