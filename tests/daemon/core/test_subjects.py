"""One reply-prefix list for the planner and the templates (they used to disagree on Antw:, VS:, Ref:, Re(2):)."""

from __future__ import annotations

import pytest

from circleback.daemon.core.subjects import has_reply_prefix, is_specific, strip_reply_prefix
from circleback.daemon.core.templating import TemplateRenderer


def render_string(source: str, context: dict[str, str]) -> str:
    return TemplateRenderer().env.from_string(source).render(context)

PREFIXED = ["Re: Lisbon trip", "RE: Lisbon trip", "AW: Lisbon trip", "Antw: Lisbon trip", "SV: Lisbon trip",
            "VS: Lisbon trip", "Ref: Lisbon trip", "Re(2): Lisbon trip", "Re[2]: Lisbon trip", "re : Lisbon trip",
            "Fwd: Lisbon trip", "FW: Lisbon trip", "WG: Lisbon trip", "TR: Lisbon trip", "RIF: Lisbon trip",
            "R: Lisbon trip", "Re: Fwd: AW: Lisbon trip"]
NOT_PREFIXED = ["Reminder: Lisbon trip", "Review: Lisbon trip", "Refund: Lisbon trip", "Avis: Lisbon trip"]


@pytest.mark.parametrize("subject", PREFIXED)
def test_every_prefix_is_stripped_the_same_by_the_planner_and_the_templates(subject: str) -> None:
    assert strip_reply_prefix(subject) == "Lisbon trip"
    assert has_reply_prefix(subject)
    assert render_string("{{ s | strip_reply_prefix }}", {"s": subject}) == "Lisbon trip"


@pytest.mark.parametrize("subject", NOT_PREFIXED)
def test_a_word_that_starts_like_a_prefix_is_kept(subject: str) -> None:
    assert strip_reply_prefix(subject) == subject
    assert not has_reply_prefix(subject)
    assert render_string("{{ s | strip_reply_prefix }}", {"s": subject}) == subject


@pytest.mark.parametrize("subject", ["Fwd: Lisbon trip", "Re: FW: Lisbon trip", "Antw: WG: Lisbon trip"])
def test_a_forward_is_no_hook_whatever_its_reply_prefixes(subject: str) -> None:
    assert not is_specific(subject)
    assert is_specific(strip_reply_prefix(subject))
