"""The note reader: private notes as people type them, turned to address the person or refused.

Every row of tests/data/notes/examples.tsv (copied from the project's shared notes) and
notes of our own, written the way people write them.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from circleback.daemon.core.notes import FACT, FOREIGN, QUOTABLE_SHAPES, SENSITIVE, UNREADABLE, read_note, read_say
from tests.support import DATA

EXAMPLES = list(csv.DictReader((DATA / "notes" / "examples.tsv").open(), delimiter="\t"))


def _as_written(note) -> str:
    """The note's second-person form as examples.tsv writes it (one way per shape)."""
    if note.noun:
        return ("you were " if note.past else "you're ") + note.noun
    said = (note.how or note.phrase or note.sentence).rstrip(".")
    return said if said.startswith("I ") else said[:1].lower() + said[1:]


@pytest.mark.parametrize("row", EXAMPLES, ids=[r["note"][:40] for r in EXAMPLES])
def test_every_example_is_read_as_its_shape_says(row):
    note = read_note(row["note"])
    if row["shape"] in ("fact", "sensitive"):
        assert note.shape == row["shape"]
        assert not note.quotable and note.reason and note.suggestion
        assert note.preview() == ""
        return
    assert note.quotable, note.reason
    want = row["second_person"]
    got = _as_written(note)
    if row["shape"] == "pronoun-clause":
        got = got.removeprefix("how ")
    assert got == want


@pytest.mark.parametrize(
    ("typed", "reads"),
    [
        # verb phrases, agreement and tense
        (
            "always sends the best book recommendations",
            "I really appreciate how you always send the best book recommendations.",
        ),
        (
            "got the user experience like no one else",
            "I still remember how you got the user experience like no one else.",
        ),
        ("Helped me move flats twice", "I still remember how you helped me move flats twice."),
        ("knows everyone in climate tech", ""),  # a network to use, not a quality: said back it is fawning
        ("never takes herself too seriously", "I've always appreciated how you never take yourself too seriously."),
        # pronoun clauses, with the person's own name as the subject
        (
            "Dana always knows the right person to ask",
            "I really appreciate how you always know the right person to ask.",
        ),
        ("she's the reason I stayed in tech", "You're the reason I stayed in tech."),
        ("he is incredibly patient", "I've always appreciated how patient you are."),
        (
            "she was the first to call after the launch",
            "I still remember how you were the first to call after the launch.",
        ),
        # possessives: "her" owning something, or a whole clause
        ("her advice on pricing changed how I run the studio", "Your advice on pricing changed how I run the studio."),
        ("His talk at the meetup", "I still think about your talk at the meetup."),
        # first person
        ("I owe him a coffee", "I owe you a coffee."),
        ("I still owe her dinner for looking after the cat", "I still owe you dinner for looking after the cat."),
        (
            "we pulled an all-nighter before the launch",
            "I still think about when we pulled an all-nighter before the launch.",
        ),
        (
            "Taught me how to say no to a VP w/o burning bridges",
            "I'm still grateful you taught me how to say no to a VP without burning bridges.",
        ),
        ("the one who told me to stop apologising", "I still remember how you told me to stop apologising."),
        (
            "Pays every invoice within a week, rare!!",
            "I've always appreciated how you pay every invoice within a week.",
        ),
        (
            "his talk at ProductCon on saying no to roadmaps",
            "I still think about your talk at ProductCon on saying no to roadmaps.",
        ),
        ("I still use her onboarding checklist", "I still use your onboarding checklist."),
        # praise nouns and adjectives
        ("the best manager I ever had", "I've always thought of you as the best manager I ever had."),
        ("great listener", "I've always thought of you as a great listener."),
        ("calm in a crisis", "I've always appreciated how calm you are in a crisis."),
        # notes already written to them, with a second sentence
        (
            "how generous you are with your time; your career-ladder exercise shaped my last two years",
            "I've always appreciated how generous you are with your time."
            " Your career-ladder exercise shaped my last two years.",
        ),
    ],
)
def test_notes_of_our_own_read_as_a_person_would_write_them(typed, reads):
    assert read_note(typed, {"dana"}).preview() == reads


@pytest.mark.parametrize(
    ("typed", "shape"),
    [
        ("ex-colleague at Stripe", FACT),
        ("plays bass in a band", FACT),
        ("a friend from uni", FACT),
        ("Sarah's husband", FACT),
        ("her kids", FACT),
        ("just had a baby", FACT),
        ("Met at PyCon 2019", FACT),
        ("lost his dad last year", SENSITIVE),
        ("dad passed in March", SENSITIVE),
        ("going through a divorce", SENSITIVE),
        ("burned out after the launch", SENSITIVE),
        ("between jobs since the spring", SENSITIVE),
        ("immer hilfsbereit, kennt jeden in Berlin", FOREIGN),
        ("très drôle et toujours partant", FOREIGN),
        ("told her about the fellowship and she pushed me to apply", UNREADABLE),
        ("asks after them every week", UNREADABLE),  # them: who?
        ("owes me 200 bucks from the Vegas trip", SENSITIVE),
        ("got the pink slip in January", SENSITIVE),
        ("her husband left her in the summer", SENSITIVE),
        ("he got sacked from Philips in Aug, don't bring it up", SENSITIVE),
        ("her mum's poorly again", SENSITIVE),
        ("ask about intro to his VC friend. send deck first!!", UNREADABLE),  # a note to self
        ("TODO give back his guidebook", UNREADABLE),
        ("nothing permanent since the Post shut. barely making rent", SENSITIVE),
        ("ask about the thing?", UNREADABLE),
        ("x" * 20 + " " + "always helps " * 20, UNREADABLE),
    ],
)
def test_facts_sensitive_foreign_and_unclear_notes_are_never_quoted(typed, shape):
    note = read_note(typed)
    assert note.shape == shape
    assert not note.quotable and note.preview() == ""
    assert note.reason and note.suggestion
    assert note.as_context()["text"] == ""


def test_foreign_notes_point_to_say():
    assert "`say`" in read_note("toujours partant pour un café").suggestion


def test_say_is_used_as_written():
    said = read_say("Still thinking about that ridiculous karaoke night")
    assert said.shape in QUOTABLE_SHAPES
    assert said.sentence == "Still thinking about that ridiculous karaoke night."


def test_an_empty_note_is_no_note():
    assert read_note("   ").shape == "" and not read_note("").quotable


def test_circleback_notes_shows_each_note_as_it_will_read_or_why_not(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from circleback.daemon.cli import main

    config = tmp_path / "config.toml"
    config.write_text(
        '[me]\nname = "Alex Kim"\naddresses = ["me@example.org"]\n\n'
        '[[people]]\nname = "Dana Reyes"\nemails = ["dana@example.org"]\nnote = "always sends the best books"\n\n'
        '[[people]]\nname = "Ade Okafor"\nemails = ["ade@example.org"]\n'
        'note = "His dad passed in March."\n\n'
        '[[people]]\nname = "Jules Moreau"\nemails = ["jules@example.org"]\n'
        'note = "toujours partant pour une rando"\n\n'
        '[[people]]\nname = "Sam Lee"\nemails = ["sam@example.org"]\nsay = "Still laughing about Osaka."\n\n'
        '[[people]]\nname = "Kirsty Fraser"\nemails = ["k@example.org"]\n'
        'note = "paramedic w/ the SAS. moved in aug"\n\n'
        '[[people]]\nname = "Kim Min-jun"\nemails = ["mj@example.org"]\ngroup = "family"\n',
        encoding="utf-8",
    )

    out = CliRunner().invoke(main, ["--config", str(config), "notes"])

    assert out.exit_code == 0, out.output
    assert "Dana Reyes: I really appreciate how you always send the best books." in out.output
    assert "Ade Okafor: not quoted — sensitive" in out.output and "passed" in out.output  # the user sees their note
    assert "Jules Moreau: not quoted — not in English" in out.output and "`say`" in out.output
    assert "Sam Lee (say): Still laughing about Osaka." in out.output
    assert "    note: paramedic w/ the SAS. moved in aug\n" in out.output  # as typed, not "with", not "August"
    assert 'Kim Min-jun: family, greeted "Hi Min-jun"' in out.output  # a third review: never "Hi Kim"
    checked = CliRunner().invoke(main, ["--config", str(config), "config", "check"])
    assert "3 of 4 notes will not be quoted in a draft; `circleback notes` says why" in checked.output


@pytest.mark.parametrize("text", [
    "hosts quiz night every month, always remembers Marj's dodgy knee and saves her a chair by the door",
    "always asks after my mum and her hip",
    "remembers my wife's birthday and sends her flowers",
    "she put me in touch with Priya and she offered me the job",
])
def test_a_pronoun_after_someone_else_is_never_turned_to_you(text):
    """From a blind review: "...always remember Marj's dodgy knee and saves you a chair" (Marj is his wife)."""
    note = read_note(text, {"fiona"})
    assert not note.quotable
    assert "you a chair" not in note.preview() and "your hip" not in note.preview()


@pytest.mark.parametrize(("text", "noun"), [
    ("the kindest project manager I ever had", "the kindest project manager I ever had"),
    ("best site engineer I ever worked with", "the best site engineer I ever worked with"),
])
def test_a_superlative_with_a_compound_noun_is_praise_not_a_memory(text, noun):
    """ "I still think about the kindest project manager I ever had" read as if about someone else."""
    note = read_note(text)
    assert note.shape == "praise-noun" and note.noun == noun and note.past


def test_a_name_of_their_own_or_a_weekday_is_not_someone_else():
    assert read_note("Dana always remembers my deadlines and checks in on her own time", {"dana"}).quotable
    assert read_note("drove up every Sunday to help me paint and brought her own ladder", {"dana"}).quotable


@pytest.mark.parametrize("text", [
    "under CNMV investigation for insider dealing, keep it quiet",
    "my marriage fell apart and she was the one who called every day",
    "always asks after my mum's hip",
    "always remembers Marj's dodgy knee and saves her a chair",
    "Lives in Melbourne, nurse at the Alfred. 3 kids. Always rings on Dad's anniversary",
])
def test_what_a_blind_review_found_slipping_through_is_sensitive(text):
    assert read_note(text, {"fiona"}).shape == SENSITIVE


@pytest.mark.parametrize(("text", "said"), [
    ("Partner, my mentor since 2017. taught me to read a SPA backwards",
     "I still remember how you taught me to read a SPA backwards."),
    ("college roommate. makes the best paella in Valencia",
     "I've always appreciated how you make the best paella in Valencia."),
    ("Left for a fellowship in Sydney in Feb. Brilliant with frightened kids",
     "I've always appreciated how brilliant you are with frightened kids."),
])
def test_facts_that_open_a_note_are_kept_and_what_they_value_is_read(text, said):
    """From the z1 review: a note whose first part was a fact was thrown away whole."""
    assert read_note(text).preview() == said


@pytest.mark.parametrize(("text", "shape"), [
    ("We ran the Yr 9 camp together for 11 years. retired same term as me", FACT),  # one fact after another
    ("Barry's a great bloke, terrible golfer. cheats at mini golf with the grandkids", UNREADABLE),  # a tease
    ("Sharp as a tack", UNREADABLE),  # never "how sharp you are as a tack"
    ("Still does the Listener crossword in pen at 93. Sharp as a tack.", UNREADABLE),
])
def test_after_facts_only_praise_or_a_deed_for_me_is_read(text, shape):
    assert read_note(text).shape == shape


@pytest.mark.parametrize(("text", "said"), [
    ("Dana always sends her drafts early", "I really appreciate how you always send your drafts early."),  # z1 review
    ("always makes her own pasta", "I really appreciate how you always make your own pasta."),
    ("runs her own studio and still finds time for me",
     "I've always appreciated how you run your own studio and still find time for me."),
    ("I still owe her dinner", "I still owe you dinner."),  # with I, she is the one owed
])
def test_her_after_a_verb_is_hers_when_she_does_it_and_you_when_i_do(text, said):
    assert read_note(text, {"dana"}).preview() == said


@pytest.mark.parametrize(("text", "sensitive"), [
    ("best partner I've had on a padel court", False),  # the z1/z2 reviews: a sport's words, not the law's
    ("rows stroke in the eight and sets the pace for everyone", False),
    ("coached me unpaid for 3 years", False),
    ("a stroke of genius, that pricing page", False),
    ("her dad had a stroke in May", True),
    ("took her landlord to court", True),
    ("invoice still unpaid since March", True),
])
def test_a_sport_or_praise_is_not_taken_for_trouble(text, sensitive):
    from circleback.daemon.core.wording import personal_sensitive

    assert personal_sensitive(text) is sensitive


@pytest.mark.parametrize(("text", "said"), [  # from a blind review of a GP's and a designer's worlds
    ("CEO. hired me in 2023", None),  # a fact said back to a boss reads as fawning
    ("salaried GP. leaving for Dunedin in june", None),  # never "how you salaried GP"
    ("senior partner. ex-colleague from Raigmore. taught me to listen for what the patient isn't saying",
     "I still remember how you taught me to listen for what the patient isn't saying."),
    ("paramedic. we carried the stretcher down Ledge Route together in the dark last jan",
     "I still think about when we carried the stretcher down Ledge Route together in the dark last January."),
    ("uni flatmate. clinical psych in Inverness, trauma specialist. climbs harder than anyone i know",
     "I've always appreciated how you climb harder than anyone I know."),
    ("head coach. got me into coaching in 2021", "I still remember how you got me into coaching in 2021."),
    ("captain. always brings the oranges", "I really appreciate how you always bring the oranges."),
])
def test_a_note_that_opens_with_who_they_are(text, said):
    read = read_note(text)
    assert (read.preview() if read.quotable else None) == said


@pytest.mark.parametrize(("text", "said"), [  # a second blind review (an architect's and a coach's worlds)
    ("pays every invoice 60 days late, chase her", None),  # a gripe is never "I've always appreciated how"
    ("cheats on his handicap, everybody knows it", None),
    ("our kicker 2011. the 52 yarder vs Massillon in the rain", None),  # never "I still think about our kicker"
    ("LB 14-17. Toughest kid I ever coached.", "I've always thought of you as the toughest kid I ever coached."),
    ("runs the food pantry. hardest working woman in Stark County",
     "I've always thought of you as the hardest working woman in Stark County."),
    ("neighbour. retired ghillie. lends me his trailer", "I've always appreciated how you lend me your trailer."),
    ("We ran the Yr 9 camp together for 11 years. retired same term as me", None),
    ("I still owe her a beer for catching the rebar spec error",
     "I still owe you a beer for catching the rebar spec error."),
])
def test_a_gripe_is_kept_and_praise_is_found_wherever_it_stands(text, said):
    read = read_note(text)
    assert (read.preview() if read.quotable else None) == said


@pytest.mark.parametrize(("text", "said"), [
    ("gave me my first job in 1981 when nobody else would hire a Dutch kid with bad english",
     "I still remember how you gave me my first job in 1981 when nobody else would hire a Dutch kid with bad English."),
    ("covers my studio when I'm stuck on site and never once complained",
     "I've always appreciated how you cover my studio when I'm stuck on site and have never once complained."),
])
def test_a_quoted_note_reads_as_english_is_written(text, said):
    assert read_note(text).preview() == said


@pytest.mark.parametrize(("text", "said"), [  # from two blind reviews
    ("lent me his trailer twice this winter", "I'm still grateful you lent me your trailer twice this winter."),
    ("gave me brutally honest feedback on my portfolio in 2022, it got me the job",
     "I still remember how you gave me brutally honest feedback on my portfolio in 2022 — it got me the job."),
])
def test_a_recent_deed_is_thanks_and_a_comma_splice_a_dash(text, said):
    assert read_note(text).preview() == said


def test_a_recent_deed_reads_as_thanks_in_the_drafts_too() -> None:
    from circleback.daemon.core.templating import TemplateRenderer
    from tests.support.templating import context

    note = read_note("lent me his trailer twice this winter")
    for template in ("checkin.txt.j2", "linkedin.txt.j2"):
        ctx = context(note=note.as_context())
        body = TemplateRenderer().render(template, ctx).body
        assert "I'm still grateful you lent me your trailer twice this winter." in body, body


@pytest.mark.parametrize(("text", "said"), [  # a third blind review (a Seoul producer's and a Dublin barrister's)
    ("his band plays club FF in hongdae every other sat", None),  # never "I still think about your band plays"
    ("lectured me in evidence at King's Inns. You're the reason I went into criminal law",
     "You're the reason I went into criminal law."),
    ("lead artist. her concept art for the sky whale level",
     "I still think about your concept art for the sky whale level."),
    ("brings me to the Long Valley for a toasted special after every hearing",
     "I've always appreciated how you bring me to the Long Valley for a toasted special after every hearing."),
    ("I nearly died laughing at his wedding speech", "I nearly died laughing at your wedding speech."),
])
def test_the_warmer_part_is_read_and_a_barristers_words_are_no_trouble(text, said):
    read = read_note(text, {"x"})
    assert (read.preview() if read.quotable else None) == said


@pytest.mark.parametrize(("text", "minor"), [
    ("niece, 15. always stays late to help", True),
    ("godson, 14", True),
    ("15, u16 squad", True),
    ("co-coach of the U16s. the county final comeback", False),  # an adult who coaches them
    ("mentee, 22. shipped her first case study", False),
    ("my son, 15 years at Deloitte", False),
])
def test_a_child_as_people_note_one(text, minor):
    from circleback.daemon.core.notes import is_minor

    assert is_minor(text) is minor


@pytest.mark.parametrize(("text", "said"), [
    ("best friend from kaist", None),  # who they are, never "the best friend from kaist"
    # the "you" of anyone they help is me too; "you" twice ("always tells you what you need") stays out
    ("led our seed. always asks the hard question first, then helps you answer it",
     "I really appreciate how you always ask the hard question first, then help me answer it."),
    ("always tells you what you need to hear", None),
    ("my master, devilled with him 2015. taught me you win cases on the papers not on your feet",
     "I still remember how you taught me that you win cases on the papers, not on your feet."),
    ("his terrible puns at every family dinner", "I still think about your terrible puns at every family dinner."),
])
def test_a_label_is_no_praise_and_someone_in_general_is_not_them(text, said):
    read = read_note(text, {"x"})
    assert (read.preview() if read.quotable else None) == said


# From a fourth blind review: about 17 due people with a plainly warm note got no draft. A role
# opens the note, the warm part comes after, with a comma splice, a number, a word of another
# language or a second habit; each of these is now said, and what must stay out still does.
@pytest.mark.parametrize(("text", "said"), [
    ("lead artist. her concept art for the sky whale level, whole team teared up at the first playtest",
     "I still think about your concept art for the sky whale level. The whole team teared up at the first playtest."),
    ("community mgr. the patch 1.3 riot night she stayed up till 4am answering every single angry player",
     "I still think about the patch 1.3 riot night you stayed up till 4am answering every single angry player."),
    ("loc lead. caught the honorifics bug in the EN script 2 days before cert. would have been a disaster",
     "I still remember how you caught the honorifics bug in the EN script 2 days before cert."),
    ("producer, korean-american. translates for me in the big meetings when my english runs out. saved me so many "
     "times", "I've always appreciated how you translate for me in the big meetings when my English runs out. "
     "You've saved me so many times."),
    ("best friend from kaist. the night we shipped our first flash game in the dorm, 2011",
     "I still think about the night we shipped our first flash game in the dorm in 2011."),
    ("taught me to swear properly in english haha. his band plays club FF in hongdae every other sat",
     "I still remember how you taught me to swear properly in English."),
    ("calls every sunday night. still sends kimchi to the office so the whole team eats it lol",
     "I've always appreciated how you call every Sunday night and still send kimchi to the office so the whole "
     "team eats it."),
    ("calls every sunday after service. always praying for me, even for my deadlines lol",
     "I really appreciate how you call every Sunday after service and are always praying for me, even for my "
     "deadlines."),
    ("Tha i cho còir. she drove me to Raigmore at 3am when I broke my wrist",
     "I still remember how you drove me to Raigmore at 3am when I broke my wrist."),
    ("meu orientador. taught me that a building is a promise you make to people you'll never meet",
     "I still remember how you taught me that a building is a promise you make to people you'll never meet."),
    ("Partner, my mentor since 2017. ruthless on drafts but fair. taught me to read a SPA backwards",
     "I still remember how you taught me to read a SPA backwards."),
    ("trinity friend. our week on Inis Meáin in 2019 with no phone signal",
     "I still think about our week on Inis Meáin in 2019 with no phone signal."),
    ("the AD who hired me in 92. took a chance on a 30 yr old nobody from Youngstown",
     "I still remember how you took a chance on a 30-year-old nobody from Youngstown."),
    ("my manager. design lead. fought for my promotion when emeka said wait till next cycle",
     "I still remember how you fought for my promotion."),  # what a third person said stays out
    ("pushed me to go into games when everyone said I was crazy",
     "I still remember how you pushed me to go into games when everyone said I was crazy."),
    ("developer in Brooklyn. sends a case of wine every christmas", "I've always appreciated how you send a case of "
     "wine every Christmas."),
    # what stays out
    ("club chair. Organises everything, thanks nobody ever says", None),  # an aside that would garble
    ("BD. leaving Redwood end of sept, told me in confidence. knows every NA publisher", None),  # a confidence
    ("WR 03-06. wants to get back to HS as a coordinator, dont tell Ashland", None),
    ("Immer pünktlich, immer gut gelaunt. Beste Nachbarin in Berlin", None),  # German, with an English-looking end
    ("always brought the snacks. but not since the move", None),  # a later part takes it back
    ("CEO. hired me in 2023", None),  # a fact, said back it reads like a file
    # a second pass over the worlds' notes
    ("Employee #1. Wrote the original sync engine in one weekend, still can't believe it",
     "I'm still impressed by how you wrote the original sync engine in one weekend."),
    ("made the tea every night shift for nine years. never once complained. Retired to Whitby",
     "I still remember how you made the tea every night shift for nine years and never once complained."),
    ("Always tows the trailer to regattas. never once asked for a cent for diesel",
     "I really appreciate how you always tow the trailer to regattas and have never once asked for a cent for "
     "diesel."),
    ("sketches ideas faster than I can explain them",  # them: the ideas, after a plural noun
     "I've always appreciated how you sketch ideas faster than I can explain them."),
    ("lends me books and never asks for them back",
     "I've always appreciated how you lend me books and never ask for them back."),
    ("Cuts out every piece I write and keeps them in a ring binder",  # "and keeps them": a verb, agreed
     "I've always appreciated how you cut out every piece I write and keep them in a ring binder."),
    ("always the one who organizes the group dinners",
     "I really appreciate how you're always the one who organizes the group dinners."),
    ("the only one who could make the anatomy viva funny", "You were the only one who could make the anatomy viva "
     "funny."),
    ("co-coach of the U16s. the county final comeback, 3 points down with 2 min left",
     "I still think about the county final comeback, 3 points down with 2 min left."),
    ("RB 98-01. OSU on scholarship. Ortho surgeon at the Clinic now. Wrote me a letter when he made attending.",
     "I still remember how you wrote me a letter when you made attending."),
    ("paced me to my sub-3 at Manchester!!! absolute legend", "I still remember how you paced me to my sub-3 at "
     "Manchester."),
    ("applying for the Circuit Court bench. keep it quiet til JAAB decides", None),
    # a fifth blind review: two leaks, and lines a careful writer would have written
    ("bank. approved the x-ray loan. we're 2 payments behind, otieno handling it", None),  # arrears, to the bank
    ("bank manager. we're 2 payments behind", None),
    ("I'm so proud of the team", None),  # the user's own state: nothing of them
    ("butcher. shorted us 3 cases of duck in aug, still arguing about the credit", None),  # a complaint
    ("best glove hand in the league. his wife left in july w/ the kids, hes a mess", None),
    ("vendor. knows everyone in cold chain logistics", None),
    ("partner at the clinic. the 2am c-section on the Maasai cow in the rain, 2019. we laughed the whole drive back",
     "I still think about the 2am c-section on the Maasai cow in the rain in 2019. We laughed the whole drive back."),
    ("always waits for me at the top of the hill even though hes way faster",
     "I really appreciate how you always wait for me at the top of the hill even though you're way faster."),
    ("ex-flatmate from LSE, at the London bar now. always up for a pint when I'm over",
     "I really appreciate how you're always up for a pint when I'm over."),
    ("landlord. fixes anything within a day. rent due jan 15", "I've always appreciated how you fix anything within "
     "a day."),
    ("best friend since Loreto. our lamu trip 2018, the dhow that nearly sank and she just kept singing",
     "I still think about our lamu trip in 2018, the dhow that nearly sank and you just kept singing."),
    ("my son. made me breakfast on my birthday w/o being asked (first time ever lol)",  # the aside stays mine
     "I still remember how you made me breakfast on my birthday without being asked."),
    ("mzee wa kweli, Isiolo. alinifundisha kusoma masikio ya ngamia. "
     "showed me how to read a camel's mood from its ears",
     "I'm still grateful you showed me how to read a camel's mood from its ears."),
    # a sixth blind review
    ("our parish priest sa tarlac. blessed my passport before i flew out in 2015. prays for migo by name every sunday",
     "I still remember how you blessed my passport before I flew out in 2015."),  # never "our parish priest"
    ("the kindest in our batch, lent me her notes the whole of 4th yr",
     "I still remember how you lent me your notes the whole of 4th year."),
    ("maraîcher, cantons-de-l'est. drove 2h in a snowstorm to bring tomatoes for the gault&millau dinner",
     "I'm still impressed by how you drove 2h in a snowstorm to bring tomatoes for the gault&millau dinner."),
    ("my first chef, gave me a job at 19. threw a pan at me once. still my hero lol",
     "I still remember how you gave me a job at 19."),  # never "… and threw a pan at me once"
    ("GES regional director. fought for our science lab funding 2016, got it. knows every scholarship board",
     "I still remember how you fought for our science lab funding in 2016 and got it."),
    ("appelle tous les dimanches. still makes tourtière for the whole staff at christmas, 6 of them",
     "I've always appreciated how you still make tourtière for the whole staff at Christmas."),
    ("new head. stopped my 6am devotion rule. her school now, ok. asks my advice sometimes", None),  # grudging
    ("his passed 2021", None),  # never read into "passed in 2021"
    # a seventh blind review
    ("presented MY tsunami model at AGU 2023 as his. smile and nod, nada mas", None),  # a grudge, never praise
    ("bà nội. mất 2022. her pâté recipe is the whole shop. giỗ on 14 march", None),  # she has died
    ("dug the station at ojos del salado at 5000m with me, cold empanadas in a blizzard 😂 un grande",
     "I still remember how you dug the station at ojos del salado at 5000m with me, cold empanadas in a blizzard."),
    ("mami. sends frozen pino by bus from conce every month jajaja",
     "I've always appreciated how you send frozen pino by bus from conce every month."),
    ("always makes khoa laugh till he cries", None),  # who cries? a name typed in lower case is someone else
    ("did my 3am shift when khoa had the flu, never baked a thing in her life and it showed", None),  # a tease
    ("wants his own shop next year, secret from the others", None),
    ("ba. heart stent in june. still opens the shop at 4am", None),
    ("brother. gambling again, owes the bookie", None),
    ("backed me in front of the ministry after the 2024 false alarm when they all wanted a head", None),  # they: others
    ("took me to the 2019 final at croke park", "I still remember how you took me to the 2019 final at croke park."),
    # an eighth blind review
    ("my late dadda, allah ghafir hom. went home june 2020. we couldnt even wash him ourselves for the janazah",
     None),  # he has died: a draft to him quoted his funeral
    ("drug rep. promises the insulin shipment every week since june and never comes. kezzeb", None),  # a complaint
    ("cousin. wants work in the gulf, told the whole family at the wedding. redid half the facades on gemmayzeh "
     "street after aug 4 for free", "I still remember how you redid half the facades on gemmayzeh street after aug 4 "
     "for free."),
    ("neighbour. built zaids jungle gym in one saturday with no plans and 2 beers, it still stands",
     "I'm still impressed by how you built zaids jungle gym in one Saturday with no plans and 2 beers — it still "
     "stands."),
    ("pastry teacher. came in on a sunday just to show me lamination",
     "I still remember how you came in on a Sunday just to show me lamination."),
    ("cô mai. told me 'your hands know bread, trust them'",  # a teacher's saying: the quote is theirs, as typed
     "I still remember how you told me 'your hands know bread, trust them'."),
    ("uni flatmate. clinical psych in Inverness, trauma specialist. climbs harder than anyone i know",
     "I've always appreciated how you climb harder than anyone I know."),  # a profession, not trouble
])
def test_a_warm_part_after_a_role_a_number_or_another_language_is_said(text, said):
    read = read_note(text, {"x"})
    assert (read.preview() if read.quotable else None) == said


@pytest.mark.parametrize(("text", "deed", "feat"), [
    ("took a chance on a junior nobody had heard of", True, False),  # for me: thanks
    ("drove me to Raigmore at 3am", True, False),
    ("made a whole platformer in Godot over the summer", False, True),  # theirs: admiration
    ("fixed the furnace himself on Christmas Eve", False, True),
    ("got the user experience like no one else", False, False),  # a quality, in the past tense
    ("she was the first to call after the launch", False, False),
    ("always asks the question nobody else thought of", False, False),
])
def test_a_deed_for_me_is_thanked_and_a_feat_admired(text, deed, feat):
    read = read_note(text)
    assert (read.deed, read.feat) == (deed, feat)
    assert read.as_context()["deed"] is deed and read.as_context()["feat"] is feat


def test_a_city_typed_in_lower_case_keeps_its_capitals_and_an_english_word_stays():
    """Four reviews in a row: "flew to seoul", "in sydney". Cities come from the time zone database
    the daemon already needs; a city that is also a word ("wake", "swift current") stays as typed."""
    said = read_note("taught me to surf in sydney, then new york").preview()
    assert said == "I still remember how you taught me to surf in Sydney, then New York."
    assert "Seoul" in read_note("flew to seoul for the cert crunch and slept at our office").preview()
    assert read_note("always rides the wake behind the ferry, every single time").preview().endswith(
        "the wake behind the ferry, every single time.")
    assert "swift current" in read_note("taught me to swim against a swift current").preview()


@pytest.mark.parametrize(("note", "deceased"), [
    ("my husband. called to glory 2019. 41 yrs married", True),  # a sixth review: a draft to a dead man
    ("went to be with the Lord in march", True),
    ("my late dadda, allah ghafir hom", True),
    ("went home june 2020, covid", True),
    ("went home early from the party", False),
    ("my late shift partner", False),
    ("our friend of blessed memory", True),
    ("my late husband's best friend", False),  # the late husband is not this person
    ("called home every sunday", False),
])
def test_a_death_as_people_of_faith_note_it(note, deceased):
    from circleback.daemon.core.notes import is_deceased

    assert is_deceased(note) is deceased


@pytest.mark.parametrize(("note", "minor"), [
    ("best friend since 1974, wesley girls. laughs like a schoolgirl", False),  # a simile, at 68
    ("kofis girl, 15. won the year 10 prize", True),
])
def test_a_simile_is_no_age_and_a_girl_of_15_is_a_child(note, minor):
    from circleback.daemon.core.notes import is_minor

    assert is_minor(note) is minor


@pytest.mark.parametrize(("note", "sensitive"), [
    ("youngest sis. waiting for board results. i paid her review center 25k. she will pass i know it", True),
    ("lent him $500 for the deposit", True),
    ("ran a 5k with me every saturday for a year", False),  # a race, not money
    ("beat us 28-14 last fall lol", False),
    # a sixth review: what read as a plain fact, and so could be written around
    ("womens fellowship treasurer. the books dont add up since march, about 3,000 cedis. told rev only", True),
    ("landlord karama. 4,500 AED a head and the aircon broken since aug", True),
    ("migos papa. sends 3k a month when he remembers", True),
    ("my elder sister in obuasi, 78. stroke in june, speech not good now", True),
    ("rows stroke in the eight and sets the pace for everyone", False),
    ("nanays sister. diabetes, lost 2 toes in sept", True),
    ("ex. baraka's dad. still texts when drunk", True),
    ("ex-flatmate from LSE, at the London bar now", False),
    ("HR. my visa renewal stuck since sept. be nice", True),
    ("off on PILIR since the shooting in july, seeing a psych for ptsd", True),
    ("applied to st john in NZ on the quiet", True),
    ("station manager. R6k owed to me since july", True),
    ("ex fiancé. ended it 2 weeks before the wedding", True),
])
def test_money_the_user_paid_for_them_is_theirs(note, sensitive):
    from circleback.daemon.core.wording import personal_sensitive

    assert personal_sensitive(note) is sensitive


def test_a_wedding_to_come_is_their_news():
    from circleback.daemon.core.notes import big_news

    assert big_news("cooks sinigang every friday for everybody. getting married in tarlac dec 27!!")
    assert not big_news("covered my on-call the week of the wedding, no questions asked")
