"""Templates render short, specific notes in a sandbox, or fail with a useful TemplateError."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from circleback.daemon.core.notes import read_note
from circleback.daemon.core.templating import (
    RenderedNote,
    TemplateRenderer,
    ago,
    and_list,
    clip,
    day_month,
    first_name,
    mid_sentence,
    month_year,
    strip_reply_prefix,
    template_names,
    topics,
    variant,
)
from circleback.daemon.errors import TemplateError
from tests.support.templating import KEYS, context

CHECKIN = "checkin.txt.j2"
HOOK_TEXT = {  # what a note must say to be about this person and not anyone
    "note": "I often think back to your candid take on hiring senior engineers.",
    "meeting": "since our lunch at Dishoom.",
    "thread": "since you sent me your Stockholm photos.",
}




@pytest.fixture(scope="module")
def renderer() -> TemplateRenderer:
    return TemplateRenderer()


def paragraphs(body: str) -> list[str]:
    return body.strip().split("\n\n")


# --- the default check-in ------------------------------------------------------------


@pytest.mark.parametrize("kind", list(HOOK_TEXT))
@pytest.mark.parametrize("key", KEYS)
def test_default_checkin_is_short_specific_and_ends_with_a_question(
    renderer: TemplateRenderer, kind: str, key: str
) -> None:
    note = renderer.render(CHECKIN, context(kind, key))

    assert note.template == CHECKIN
    assert note.subject and "\n" not in note.subject
    assert not re.match(r"(?i)(re|fwd?)\s*:", note.subject)
    assert len(note.body.split()) <= 120
    greeting, *_, question, sign_off = paragraphs(note.body)
    assert greeting.endswith("Jo,")
    assert question.endswith("?")
    assert sign_off.splitlines()[-1] == "Ana"
    if kind != "note" or "often" in note.body:
        assert HOOK_TEXT[kind] in note.body
    else:
        assert "I still think about your candid take on hiring senior engineers." in note.body
    assert "Re:" not in note.body and "“" not in note.body
    assert "Series A" not in note.body and "Q3 planning" not in note.body  # titles are never quoted


@pytest.mark.parametrize("kind", list(HOOK_TEXT))
def test_a_check_in_never_takes_an_old_subject_nor_a_condolence_subject(renderer: TemplateRenderer, kind: str) -> None:
    subjects = {renderer.render(CHECKIN, context(kind, k)).subject for k in KEYS}
    assert subjects <= {"Catching up", "It's been a while", "A quick hello", "Hello from Ana"}


@pytest.mark.parametrize(("relation", "never"), [("family", "working on"), ("friend", "help with")])
def test_the_question_fits_the_relationship(renderer: TemplateRenderer, relation: str, never: str) -> None:
    bodies = " ".join(renderer.render(CHECKIN, context("note", k, relation=relation)).body for k in KEYS)
    assert never not in bodies and "busy" not in bodies


def test_each_note_form_gets_its_own_frame(renderer: TemplateRenderer) -> None:
    forms = {
        "always sends the best book recommendations": "how you always send the best book recommendations.",
        "pushed me to apply for the fellowship": " how you pushed me to apply for the fellowship.",
        "a natural teacher": "I've always thought of you as a natural teacher.",
        "our road trip to Big Sur": " our road trip to Big Sur.",
        "I owe him a coffee": "\n\nI owe you a coffee.",
    }
    for typed, said in forms.items():
        body = renderer.render(CHECKIN, context("note", note=read_note(typed).as_context())).body
        assert said in body, body


def test_signature_follows_the_first_name(renderer: TemplateRenderer) -> None:
    me = {"name": "Ana Lima", "first_name": "Ana", "signature": "Ana Lima\nHead of Product, Fieldnotes"}
    body = renderer.render(CHECKIN, context(me=me)).body
    assert body.endswith("\nAna\nAna Lima\nHead of Product, Fieldnotes\n")


def test_same_key_same_words_different_keys_different_words(renderer: TemplateRenderer) -> None:
    people = [f"person:{i}:checkin:2025-W14" for i in range(10)]
    week_a = [renderer.render(CHECKIN, context("note", k)) for k in people]
    again = [renderer.render(CHECKIN, context("note", k)) for k in people]
    week_b = [renderer.render(CHECKIN, context("note", k.replace("W14", "W27"))) for k in people]

    assert week_a == again
    assert sum(a.body != b.body for a, b in zip(week_a, week_b, strict=True)) >= 3
    # Ten people on one afternoon do not get one text with the names swapped.
    assert len({n.body for n in week_a}) >= 5
    assert len({paragraphs(n.body)[0].split()[0] for n in week_a}) >= 2  # greetings vary
    assert len({paragraphs(n.body)[-2] for n in week_a}) >= 3  # closing questions vary


def test_unknown_hook_kind_refuses_to_render(renderer: TemplateRenderer) -> None:
    with pytest.raises(TemplateError, match="hook of kind"):
        renderer.render(CHECKIN, context("weather"))


def test_meeting_hook_without_a_moment_is_an_error(renderer: TemplateRenderer) -> None:
    with pytest.raises(TemplateError, match=CHECKIN):
        renderer.render(CHECKIN, context("meeting", moment=None))


def test_template_names_lists_the_defaults() -> None:
    assert CHECKIN in template_names()


# --- user templates and errors ------------------------------------------------------------


def user_renderer(tmp_path: Path, source: str, name: str = "mine.txt.j2") -> TemplateRenderer:
    (tmp_path / name).write_text(source, encoding="utf-8")
    return TemplateRenderer(tmp_path)


def test_user_directory_overrides_the_default(tmp_path: Path) -> None:
    r = user_renderer(tmp_path, "Subject: Mine\n\nHi {{ person.first_name }}, how are you?\n", CHECKIN)
    assert r.render(CHECKIN, context()) == RenderedNote("Mine", "Hi Jo, how are you?\n", CHECKIN)


def test_defaults_still_load_beside_a_user_directory(tmp_path: Path) -> None:
    r = user_renderer(tmp_path, "Subject: x\n\ny\n")
    assert HOOK_TEXT["note"] in r.render(CHECKIN, context()).body


@pytest.mark.parametrize(
    "expression",
    [
        "{{ ''.__class__.__mro__ }}",
        "{{ cycler.__init__.__globals__ }}",
        "{{ person.__dict__ }}",
        "{{ mutual.append(1) }}",
        "{{ person.update(name='Eve') }}",
        "{{ person.pop('email') }}",
        "{{ range(10**9) | list | length }}",
        "{{ ''.format.__self__ }}",
        "{{ variant.__globals__ }}",
    ],
)
def test_sandbox_escapes_are_template_errors(tmp_path: Path, expression: str) -> None:
    r = user_renderer(tmp_path, f"Subject: hi\n\n{expression}\n")
    ctx = context()
    with pytest.raises(TemplateError, match=r'template "mine\.txt\.j2"'):
        r.render("mine.txt.j2", ctx)
    assert ctx["mutual"] == [{"name": "Bo Chen", "first_name": "Bo"}]  # nothing mutated
    assert ctx["person"]["name"] == "Jo Park"


def test_undefined_names_the_template_file_and_line(tmp_path: Path) -> None:
    r = user_renderer(tmp_path, "Subject: hi\n\nHi {{ person.first_name }},\n{{ person.nmae }}\n")
    with pytest.raises(TemplateError) as caught:
        r.render("mine.txt.j2", context())
    message = str(caught.value)
    assert "mine.txt.j2" in message and str(tmp_path) in message
    assert "line 4" in message and "nmae" in message


def test_syntax_error_names_the_line(tmp_path: Path) -> None:
    r = user_renderer(tmp_path, "Subject: hi\n\n{% if person %}\nno end\n")
    with pytest.raises(TemplateError, match=r"syntax error.*fix that line") as caught:
        r.render("mine.txt.j2", context())
    assert "line 4" in str(caught.value) or "line 5" in str(caught.value)


def test_exception_during_render_is_a_template_error(tmp_path: Path) -> None:
    r = user_renderer(tmp_path, "Subject: hi\n\n{{ 1 // 0 }}\n")
    with pytest.raises(TemplateError, match="line 3"):
        r.render("mine.txt.j2", context())


def test_missing_template_says_where_it_looked(tmp_path: Path) -> None:
    with pytest.raises(TemplateError, match=r"nope\.txt\.j2.*not found.*" + re.escape(str(tmp_path))):
        TemplateRenderer(tmp_path).render("nope.txt.j2", context())


def test_template_name_cannot_leave_the_directory(tmp_path: Path) -> None:
    with pytest.raises(TemplateError, match="not found"):
        TemplateRenderer(tmp_path).render("../etc/passwd", context())


@pytest.mark.parametrize(
    ("source", "problem"),
    [
        ("Hi there\n\nHow are you?\n", "first line must be"),
        ("Subject:   \n\nHow are you?\n", "Subject line is empty"),
        ("Subject: hi\nHow are you?\n", "followed by a blank line"),
        ("Subject: hi\n\n   \n\n", "body is empty"),
    ],
)
def test_unusable_output_is_a_template_error(tmp_path: Path, source: str, problem: str) -> None:
    with pytest.raises(TemplateError, match=problem):
        user_renderer(tmp_path, source).render("mine.txt.j2", context())


def test_output_is_tidied(tmp_path: Path) -> None:
    source = "\nSubject: hi   \n\nHi Jo,   \n\n\n\n\nHow are you?\t\n\n\n"
    note = user_renderer(tmp_path, source).render("mine.txt.j2", context())
    assert note == RenderedNote("hi", "Hi Jo,\n\nHow are you?\n", "mine.txt.j2")


# --- helpers --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "email", "expected"),
    [
        ("Jo Park", "", "Jo"),
        ("Dr. Jo Park", "", "Jo"),
        ("Park, Jo", "", "Jo"),
        ("", "jo.park@example.org", "Jo"),
        ("jo_park@example.org", "", "Jo"),
        ("山田 太郎", "", "山田"),
        ({"name": "Jo Park", "email": "x@y.z"}, "", "Jo"),
        ({"name": "", "first_name": "Joanna"}, "", "Joanna"),
        # A single word may be an initial glued to a surname: no greeting name beats a wrong one.
        ({"name": "", "email": "cy@example.com"}, "", ""),
        ("", "jsmith1987@corp.example", ""),
        ("", "j.park@example.org", ""),
        ("", "jo.park+lists@example.org", "Jo"),
        ("anna-lena.berg@example.de", "", "Anna-Lena"),
        ("", "élodie.roux@example.fr", "Élodie"),
        # {{ person | first_name }} on a user's own context: no initial, no shouting, no team.
        ({"name": "Baker, J.", "email": "jb@c.example"}, "", ""),
        ({"name": "KIM PARK", "email": "kp@c.example"}, "", "Kim"),
        ({"name": "The Acme Team", "first_name": ""}, "", ""),
        ("", "hr.dept@c.example", ""),
    ],
)
def test_first_name(value: Any, email: str, expected: str) -> None:
    assert first_name(value, email) == expected


@pytest.mark.parametrize(
    ("days", "text"),
    [(0, "less than a day"), (1, "a day"), (3, "three days"), (8, "a week"), (14, "two weeks"),
     (21, "three weeks"), (35, "about a month"), (50, "about six weeks"), (61, "about two months"),
     (200, "about seven months"), (340, "almost a year"), (400, "over a year"),
     (600, "a year and a half"), (800, "over two years"), (5000, "over 13 years")],
)  # fmt: skip
def test_ago_reads_like_english(days: int, text: str) -> None:
    assert ago(days) == text


def test_dates_in_english_whatever_the_locale() -> None:
    assert month_year(date(2025, 3, 12)) == "March 2025"
    assert day_month(date(2025, 3, 2)) == "2 March"


@pytest.mark.parametrize(
    ("subject", "clean"),
    [("Re: RE: Fwd: Series A", "Series A"), ("AW: WG: Angebot", "Angebot"), ("Re[2]: x", "x"),
     ("Fw:Re: y", "y"), ("Re:", ""), ("Regarding the plan", "Regarding the plan"), ("Rest: z", "Rest: z")],
)  # fmt: skip
def test_strip_reply_prefix(subject: str, clean: str) -> None:
    assert strip_reply_prefix(subject) == clean


def test_mid_sentence_and_and_list() -> None:
    assert mid_sentence("Your candour about hiring. ") == "your candour about hiring"
    assert mid_sentence("Kubernetes war stories!") == "Kubernetes war stories"
    assert and_list(["Ana"]) == "Ana"
    assert and_list(["Ana", "Bo", "Cy"]) == "Ana, Bo and Cy"


@pytest.mark.parametrize(("written", "said"), [
    (["ux research"], "UX research"),
    (["spanish employment lawyer"], "Spanish employment law"),  # a z1 review: "knows spanish employment lawyer well"
    (["a UX designer", "seed investors"], "UX design and seed investing"),
    (["Product Manager"], "Product Management"),
    (["hiking routes", "Kubernetes", "m&a"], "hiking routes, Kubernetes and M&A"),
    (["advisor"], "advisor"),
    # three reviews: "could help with patisserie course", "help with ECP degree at CPUT" (typed "the ECP degree")
    (["patisserie course"], "a patisserie course"),
    (["the ECP degree at CPUT"], "the ECP degree at CPUT"),
    (["NHS UK application"], "an NHS UK application"),
    (["bakery lease in the west"], "a bakery lease in the west"),
    (["university application"], "a university application"),
    (["restaurant financing", "PhD programs abroad"], "restaurant financing and PhD programs abroad"),
])
def test_a_topic_is_said_as_a_field_in_its_own_capitals(written: list[str], said: str) -> None:
    assert topics(written) == said


def test_variant_is_stable_across_processes() -> None:
    # Pinned: a change here rewords every user's pending notes on re-render.
    assert variant("person:1:checkin:2025-W14:greeting", "a", "b", "c", "d", "e") == "b"
    assert variant("x", "only") == "only"
    with pytest.raises(ValueError):
        variant("x")


def test_error_in_an_included_template_names_that_file(tmp_path: Path) -> None:
    (tmp_path / "part.txt.j2").write_text("Hi,\n\n{{ hook.missing }}\n", encoding="utf-8")
    r = user_renderer(tmp_path, "Subject: hi\n\n{% include 'part.txt.j2' %}\n")
    with pytest.raises(TemplateError, match=r"part\.txt\.j2, line 3"):
        r.render("mine.txt.j2", context())


@pytest.mark.parametrize(
    ("title", "clipped"),
    [("Q3 planning offsite", "Q3 planning offsite"),
     ("x" * 60, "x" * 60),  # exactly the limit: whole
     ("Quarterly planning offsite for the platform and data teams in Lisbon",
      "Quarterly planning offsite for the platform and data teams…"),
     ("Board prep: numbers, narrative, and the hiring plan; then dinner at Ramiro",
      "Board prep: numbers, narrative, and the hiring plan; then…"),
     ("Kickoff " + "w" * 70, "Kickoff…"),  # a word over the limit is dropped whole
     ("z" * 3000, "z" * 60 + "…"),  # one endless word: cut inside it
     ("Roadmap\n  review\tnotes", "Roadmap review notes")],
)  # fmt: skip
def test_clip_cuts_long_titles_at_a_word_with_an_ellipsis(title: str, clipped: str) -> None:
    assert clip(title) == clipped
    assert len(clip(title)) <= 61


def test_clip_is_a_template_filter(tmp_path: Path) -> None:
    r = user_renderer(tmp_path, "Subject: {{ t | clip(10) }}\n\nbody\n")
    assert r.render("mine.txt.j2", {"t": "Lisbon offsite planning"}).subject == "Lisbon…"


def test_a_batch_of_notes_does_not_open_alike_and_work_is_never_loved() -> None:
    """A blind review read a batch: every note opened "I really appreciate how you…" and went on
    "It's been N months since we last talked." Each reads well alone; together, a mail merge."""
    from circleback.daemon.core.notes import read_note
    from tests.support.templating import KEYS, context

    def openings(note: str, relation: str) -> set[str]:
        seen = set()
        for key in KEYS:
            ctx = context(key=key, note=read_note(note).as_context(), relation=relation, days_since=200)
            seen.add(TemplateRenderer().render(CHECKIN, ctx).body.split("\n\n")[1])
        return seen

    friendly = openings("always asks the question nobody else thought of", "friend")
    assert len(friendly) >= 3 and any(o.startswith("I love how") for o in friendly), friendly
    assert any("Hard to believe it's been" in o for o in friendly)
    assert any("since we last talked" in o for o in friendly)
    assert not any("I love" in o for o in openings("always asks the question nobody else thought of", "work"))
    assert len(openings("taught me to read a balance sheet", "work")) >= 2

    def since(days: int) -> set[str]:
        ctx = [context(key=k, note=read_note("always brings snacks").as_context(), relation="work", days_since=days)
               for k in KEYS]
        return {TemplateRenderer().render(CHECKIN, c).body.split("\n\n")[1] for c in ctx}

    assert not any("Hard to believe" in o for o in since(90))  # three months is not long: a fourth review


def test_family_is_never_asked_as_after_a_silence_and_deeds_are_thanked(renderer: TemplateRenderer) -> None:
    """A fourth review: "How have you been?" to a mother who rings every evening. And a deed done
    for the user reads as thanks ("I'm still grateful you…"), a feat as admiration, never
    "I often think about how you caught the churn bug"."""
    family = " ".join(renderer.render(CHECKIN, context("note", k, relation="family")).body for k in KEYS)
    assert "How have you been?" not in family and "all doing" not in family

    def openings(note: str) -> set[str]:
        ctx = [context(key=k, note=read_note(note).as_context(), relation="work") for k in KEYS]
        return {renderer.render(CHECKIN, c).body.split("\n\n")[1] for c in ctx}

    deed = openings("caught the churn bug in March")
    assert "I'm still grateful you caught the churn bug in March." in deed
    assert not any("often think" in o for o in deed)
    feat = openings("ran the whole pro bono clinic basically alone")
    assert "I'm still impressed by how you ran the whole pro bono clinic basically alone." in feat


@pytest.mark.parametrize(("relation", "title", "said"), [
    ("friend", "", "Would you like to meet Sam Reyes, a friend of mine?"),
    ("colleague", "", "Would you like to meet Sam Reyes, a colleague of mine?"),
    ("work", "", "Would you like to meet Sam Reyes, someone I know through work?"),
    ("other", "", "Would you like to meet Sam Reyes?"),
    ("friend", "Head of Design", "Would you like to meet Sam Reyes, Head of Design?"),  # the title says who
])
def test_an_ask_says_who_the_other_is_to_me_when_no_title_or_company_does(
    renderer: TemplateRenderer, relation: str, title: str, said: str
) -> None:
    """A fourth review: three asks named only "Would you like to meet Sam Reyes?": who is that?"""
    other = {"name": "Sam Reyes", "first_name": "Sam", "company": "", "title": title, "linkedin": "",
             "offers": ["brand design"], "seeks": [], "note": ""}
    ctx = {"me": {"name": "Ana Lima", "first_name": "Ana", "signature": ""},
           "person": {"name": "Jo Park", "first_name": "Jo", "email": "jo@example.org"},
           "other": other, "other_relation": relation, "gives": ["brand design"], "gets": [],
           "asked_first": True, "sensitive": False, "key": "k"}
    body = renderer.render("intro_ask.txt.j2", ctx).body
    assert said in body, body


def test_family_get_my_first_name_and_sign_as_says_it_for_one_person(renderer: TemplateRenderer) -> None:
    """A fifth review: "Love, Coach K" to a grandson and a daughter. One signature for everyone."""
    me = {"name": "Dale Kowalski", "first_name": "Dale", "signature": "Coach K"}
    family = renderer.render(CHECKIN, context("note", relation="family", me=me)).body
    assert family.rstrip().endswith("\nDale") and "Coach K" not in family
    friend = renderer.render(CHECKIN, context("note", relation="friend", me=me)).body
    assert friend.rstrip().endswith("\nDale")  # "Mrs Owusu" to the friend she shared a dorm bed with
    work = renderer.render(CHECKIN, context("note", relation="work", me=me)).body
    assert work.rstrip().endswith("\nCoach K")
    toby = {"name": "Tobias Lindahl", "first_name": "Tobias", "signature": "Toby"}  # the name he goes by
    assert renderer.render(CHECKIN, context("note", relation="family", me=toby)).body.rstrip().endswith("\nToby")
    grandson = dict(context()["person"], sign_as="Grandpa")
    for template in (CHECKIN, "linkedin.txt.j2"):
        body = renderer.render(template, context("note", relation="family", me=me, person=grandson)).body
        assert body.rstrip().endswith("\nGrandpa") and "Coach K" not in body, body


def test_an_elder_the_note_names_is_greeted_dear_or_hello() -> None:
    """A fifth review: "Hey Lemayian," to an Isiolo elder whose note opens "mzee wa kweli"."""
    renderer = TemplateRenderer()
    elder = dict(context()["person"], elder=True, first_name="Lemayian")
    greetings = {renderer.render(CHECKIN, context("note", k, person=elder)).body.split(",")[0] for k in KEYS}
    assert greetings <= {"Dear Lemayian", "Hello Lemayian"}, greetings


@pytest.mark.parametrize("greet", ["Dì Sáu", "Tita Baby", "Father Ben", "Don Lucho"])
def test_an_elder_by_their_title_in_any_language_is_greeted_and_signed_off_with_respect(greet: str) -> None:
    """A seventh review: "Hey Dì Sáu," and "Cheers," from a 68-year-old headmistress to her elders."""
    renderer = TemplateRenderer()
    person = dict(context()["person"], first_name=greet)
    bodies = [renderer.render(CHECKIN, context("note", k, person=person, relation="friend")).body for k in KEYS]
    assert all(b.startswith((f"Dear {greet},", f"Hello {greet},")) for b in bodies)
    assert not any("Cheers," in b or "All the best," in b for b in bodies)


def test_someone_who_rings_every_week_is_not_asked_how_they_have_been(renderer: TemplateRenderer) -> None:
    note = read_note("drives me to church every sunday when my knee is bad").as_context()
    bodies = " ".join(renderer.render(CHECKIN, context("note", k, note=note, relation="friend")).body for k in KEYS)
    assert "How have you been?" not in bodies and "What have you been up to?" not in bodies


def test_a_linkedin_note_greets_an_elder_with_dear() -> None:
    """An eighth review: "Hi Imam Gasant", "Hi Teta" in the LinkedIn-style note."""
    renderer = TemplateRenderer()
    person = dict(context()["person"], first_name="Imam Gasant")
    bodies = [renderer.render("linkedin.txt.j2", context("note", k, person=person)).body for k in KEYS]
    assert all(b.startswith("Dear Imam Gasant,") for b in bodies)
    assert not any("  " in b for b in bodies)  # an empty "why" leaves no double space
