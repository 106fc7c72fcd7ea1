"""The kinds of draft circleback writes, and how each reads to the user ("introduction ask")."""

from __future__ import annotations

CHECKIN = "checkin"
LINKEDIN = "linkedin"  # "emphasize the link": short enough to paste as a LinkedIn note
NUDGE = "nudge"  # `circleback nudge`: asked for by the user, outside the budget
ASK, INTRO, FOLLOWUP = "intro-ask", "intro", "intro-followup"
DIGEST = "digest"

# How each kind reads in a list of waiting drafts, in `nudge` and `demo`, and in the log.
KIND_LABELS = {
    CHECKIN: "check-in",
    LINKEDIN: "LinkedIn note",
    NUDGE: "nudge",
    ASK: "introduction ask",
    INTRO: "introduction",
    FOLLOWUP: "introduction follow-up",
    DIGEST: "weekly digest",
}
