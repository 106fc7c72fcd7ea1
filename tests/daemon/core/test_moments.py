"""Which titles name a moment we shared, and how a note says it: never quoted, never dated."""

from __future__ import annotations

import pytest

from circleback.daemon.core.moments import read_moment, says_goodbye


@pytest.mark.parametrize(("title", "met", "mine", "phrase", "since"), [
    ("Lunch at Dishoom", True, False, "our lunch at Dishoom", "our lunch at Dishoom"),
    ("Re: Lunch next week?", True, False, "our last lunch", "our last lunch"),  # in the calendar: it happened
    ("Coffee with Dana at Monmouth", True, False, "our last coffee", "our last coffee"),  # no name, no place
    ("Drinks at The Crown", True, False, "our drinks at The Crown", "our drinks at The Crown"),
    ("Trip to Lisbon", True, False, "our trip to Lisbon", "our trip to Lisbon"),
    ("Climbing on Saturday?", True, False, "our last climb", "our last climb"),
    ("PyData Berlin meetup", True, False, "the PyData Berlin meetup", "the PyData Berlin meetup"),
    ("Talk at PyCon", True, False, "the talk at PyCon", "the talk at PyCon"),
    ("The workshop in Porto", True, False, "the workshop in Porto", "the workshop in Porto"),
    ("Stockholm photos", False, False, "your Stockholm photos", "you sent me your Stockholm photos"),
    ("Photos of Ella", False, False, "your photos of Ella", "you sent me your photos of Ella"),
    ("Curry at Akbar's", True, False, "our curry at Akbar's", "our curry at Akbar's"),
    ("Manchester Marathon", True, False, "the Manchester marathon", "the Manchester marathon"),
    ("Ramen at Kinton after the meetup", True, False, "our ramen at Kinton", "our ramen at Kinton"),  # not "Kint"
    ("Coffee at Hix, then a walk", True, False, "our coffee at Hix", "our coffee at Hix"),
    ("Congrats on the Wealthsimple offer!", False, False, "your new role", "you told me about your new role"),
    ("Congratulations on making partner", False, False, "your promotion", "you told me about your promotion"),
    ("Promotion!", False, False, "your promotion", "you told me about your promotion"),
])
def test_a_shared_moment_is_said_as_a_person_would(title, met, mine, phrase, since) -> None:
    moment = read_moment(title, met=met, sent_by_me=mine)
    assert moment is not None
    assert (moment.phrase, moment.since) == (phrase, since)


@pytest.mark.parametrize("title", [
    "Q3 roadmap", "Gas curves", "Enron", "Deal #741969", "Re: trade confirmations", "Update", "Workshop", "slides",
    "Pricing page workshop", "lunch at work", "Scott Pleus Farewell Happy Hour TONIGHT!!!", "Leaving drinks for Jo",
    "Re: Dad died", "Funeral arrangements", "Lunch re: the lawsuit", "Order 44711 has shipped",
    "Photos from the hospital", "Weekly sync", "Dana / Alex 1:1",
])
def test_routine_work_farewells_and_sensitive_titles_are_no_moment(title) -> None:
    assert read_moment(title, met=True, sent_by_me=False) is None
    assert read_moment(title, met=False, sent_by_me=True) is None


@pytest.mark.parametrize(("title", "phrase"), [
    ("Lunch at Fiona's", "our last lunch"),  # to Fiona: not "our lunch at Fiona's"
    ("Fiona's talk at ESEM", "your talk at ESEM"),
    ("Ngaire's book launch", "Ngaire's book launch"),  # someone else's: theirs, not "the Ngaire's"
])
def test_a_title_that_names_them_is_said_to_them(title, phrase) -> None:
    moment = read_moment(title, met=True, sent_by_me=False, names=frozenset({"fiona", "reyes"}))
    assert moment is not None and moment.phrase == phrase


def test_a_meal_only_asked_about_in_mail_may_never_have_happened() -> None:
    assert read_moment("Dinner at State Bird?", met=False, sent_by_me=True) is None
    assert read_moment("Dinner at State Bird?", met=True, sent_by_me=False) is not None


@pytest.mark.parametrize("title", ["Holiday photos", "Re: Berlin slides", "Congrats on the new role!"])
def test_my_own_photos_or_congratulations_are_no_moment(title) -> None:
    # "since I sent you the photos", "since I congratulated you": a log of my own mail, not ours
    assert read_moment(title, met=False, sent_by_me=True) is None
    assert read_moment(title, met=False, sent_by_me=False) is not None


def test_photos_are_mail_not_a_meeting() -> None:
    assert read_moment("Stockholm photos", met=True, sent_by_me=False) is None


@pytest.mark.parametrize(("subject", "bye"), [
    ("My last day at Acme", True), ("New email address", True), ("Keeping in touch (new address)", True),
    ("I'm leaving Acme", True), ("Re: My last day at Acme", False),  # my answer to their goodbye is not theirs
    ("Farewell drinks for Scott", False), ("Lunch at Dishoom", False),
    # From a blind review: neither was held back as a goodbye.
    ("Farewell from the Fletchers - off to Perth!", True), ("Mi último día en Ortiz Vega - gracias a todos", True),
    ("Mein letzter Tag bei Siemens", True), ("Re: Mi último día en Ortiz Vega", False),
])
def test_their_own_goodbye(subject, bye) -> None:
    assert says_goodbye(subject) is bye
