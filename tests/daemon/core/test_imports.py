"""LinkedIn and vCard imports: parsed as the real exports are shaped, merged by address,
nothing the user wrote overwritten, and the config never touched."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from circleback.daemon.config import Settings
from circleback.daemon.core.contacts import apply_people, contacts
from circleback.daemon.core.imports import import_file, parse_linkedin_csv, parse_vcard
from circleback.daemon.errors import ImportError_
from circleback.daemon.store.ledger import Ledger
from tests.support import DATA
from tests.support.records import NOW

ME = "me@example.org"

# The shape LinkedIn ships (2024): a "Notes:" preamble with a quoted paragraph, a
# blank line, then the header; most addresses are empty (members hide them).
LINKEDIN_CSV = (DATA / "Connections.csv").read_text(encoding="utf-8")

VCARDS = (
    "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Lukas Becker\r\nN:Becker;Lukas;;;\r\n"
    "EMAIL;TYPE=INTERNET;TYPE=WORK:lukas.becker@work.example\r\n"
    "item1.EMAIL;type=INTERNET;type=pref:lukas@becker.example\r\n"
    "ORG:Fernhill Software;Product\r\nTITLE:Product Manager\r\n"
    "URL:https://www.linkedin.com/in/lukas-becker-\r\n demo\r\n"  # a folded line
    "NOTE:met at the offsite\\, 2024\r\nEND:VCARD\r\n"
    "BEGIN:VCARD\r\nVERSION:4.0\r\nN:Costa;Rafael;;;\r\n"
    "EMAIL;TYPE=work:rafael@costa-ventures.example\r\nORG:Costa Ventures\r\n"
    "TITLE:Angel investor\r\nEND:VCARD\r\n"
    "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Nobody Reachable\r\nTEL:+44 20 0000 0000\r\nEND:VCARD\r\n"
)


def make_settings(**over: object) -> Settings:
    base: dict[str, object] = {
        "me": {"name": "Me", "addresses": [ME]},
        "people": [
            {"name": "Priya R.", "emails": ["priya.raman@work.example"], "title": "My manager",
             "note": "the clearest feedback I have ever had"},
        ],
    }
    base.update(over)
    return Settings.model_validate(base)


def profile_of(ledger: Ledger, settings: Settings, email: str):  # noqa: ANN201
    return next(c for c in contacts(ledger, settings, NOW) if email in c.emails)


def test_linkedin_export_parses_past_its_preamble() -> None:
    people, skipped = parse_linkedin_csv(LINKEDIN_CSV)
    by_name = {p.name: p for p in people}
    assert set(by_name) == {"Mateo García", "Nadia Petrova", "Priya Raman", "Jo Bloggs", "Me Myself"} - {"Jo Bloggs"}
    assert by_name["Mateo García"].emails == ("mateo.garcia@example.com",)
    assert by_name["Nadia Petrova"].emails == () and by_name["Nadia Petrova"].linkedin.endswith("nadia-petrova-demo")
    assert by_name["Nadia Petrova"].title == "Head of UX Research, Platform"
    assert by_name["Priya Raman"].company == "Fernhill Software, Ltd."
    assert any("not-an-address" in s for s in skipped) and any("no name and no address" in s for s in skipped)


def test_a_file_that_is_not_an_export_is_refused() -> None:
    with pytest.raises(ImportError_, match="Connections.csv"):
        parse_linkedin_csv("name,email\nA,a@x.example\n")
    with pytest.raises(ImportError_, match="BEGIN:VCARD"):
        parse_vcard("hello")


def test_vcard_folded_lines_several_addresses_org_title_url() -> None:
    people, skipped = parse_vcard(VCARDS)
    lukas, rafael = people
    assert lukas.name == "Lukas Becker"
    assert lukas.emails == ("lukas.becker@work.example", "lukas@becker.example")
    assert (lukas.company, lukas.title) == ("Fernhill Software", "Product Manager")
    assert lukas.linkedin == "https://www.linkedin.com/in/lukas-becker-demo"
    assert rafael.name == "Rafael Costa" and rafael.company == "Costa Ventures"  # from N when FN is missing
    assert skipped == ["card 3: Nobody Reachable: neither an address nor a LinkedIn link"]


# A phone's vCard 2.1 export: names in quoted-printable UTF-8, one with a soft line break.
VCARD_21 = (
    "BEGIN:VCARD\r\nVERSION:2.1\r\n"
    "N;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:M=C3=BCller;J=C3=B6rg;;;\r\n"
    "FN;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:J=C3=B6rg M=C3=BCl=\r\nler\r\n"
    "EMAIL;INTERNET:joerg@mueller.example\r\nEND:VCARD\r\n"
    "BEGIN:VCARD\r\nVERSION:2.1\r\n"
    "N;ENCODING=QUOTED-PRINTABLE;CHARSET=ISO-8859-1:Garc=EDa;Jos=E9;;;\r\n"
    "EMAIL:jose@garcia.example\r\nEND:VCARD\r\n"
    "BEGIN:VCARD\r\nVERSION:2.1\r\nFN;QUOTED-PRINTABLE:Zo=C3=AB Ng\r\nEMAIL:zoe@ng.example\r\nEND:VCARD\r\n"
)


def test_vcard_21_quoted_printable_names_are_decoded() -> None:
    people, skipped = parse_vcard(VCARD_21)
    assert [p.name for p in people] == ["Jörg Müller", "José García", "Zoë Ng"] and skipped == []


def test_import_merges_by_address_and_never_overwrites_the_config(ledger: Ledger, tmp_path: Path) -> None:
    s = make_settings()
    apply_people(ledger, s)
    with ledger.transaction():
        ledger.person_for_address("lukas@becker.example", "")  # seen in mail before the import
    report = import_file(ledger, s, "linkedin", LINKEDIN_CSV)
    assert sorted(report.added) == ["Mateo García", "Nadia Petrova"]
    assert report.merged == ["Priya Raman"]
    assert any("your own address" in line for line in report.skipped)
    priya = profile_of(ledger, s, "priya.raman@work.example")
    assert priya.display_name == "Priya R."  # the config's name wins
    assert priya.profile.title == "My manager"  # written by hand: kept
    assert priya.profile.company == "Fernhill Software, Ltd."  # a blank: filled from the import
    assert priya.profile.linkedin.endswith("priya-raman-demo")
    assert not priya.profile.emails or priya.profile.note  # still the config's own profile

    report = import_file(ledger, s, "vcard", VCARDS)
    assert report.merged == ["Lukas Becker"] and report.added == ["Rafael Costa"]
    lukas = profile_of(ledger, s, "lukas.becker@work.example")
    assert lukas.emails == ["lukas.becker@work.example", "lukas@becker.example"]  # one person, two addresses
    assert (lukas.profile.company, lukas.profile.title) == ("Fernhill Software", "Product Manager")
    assert not lukas.tracked  # an address book entry is not a relationship: no notes for it

    again = import_file(ledger, s, "linkedin", LINKEDIN_CSV)
    assert again.added == [] and sorted(again.unchanged) == ["Mateo García", "Nadia Petrova", "Priya Raman"]


def test_two_config_people_are_never_merged_by_an_import(ledger: Ledger) -> None:
    s = make_settings(people=[{"name": "A", "emails": ["a@x.example"]}, {"name": "B", "emails": ["b@x.example"]}])
    apply_people(ledger, s)
    card = "BEGIN:VCARD\nVERSION:3.0\nFN:AB\nEMAIL:a@x.example\nEMAIL:b@x.example\nEND:VCARD\n"
    report = import_file(ledger, s, "vcard", card)
    assert report.merged == [] and "left apart" in report.skipped[0]
    assert len({c.person_id for c in contacts(ledger, s, NOW)}) == 2


def test_cli_import_reports_counts_and_leaves_the_config_alone(tmp_path: Path) -> None:
    from circleback.daemon.cli.people import import_group

    config = tmp_path / "config.toml"
    config.write_text(f'[me]\naddresses = ["{ME}"]\n\n[[people]]\nname = "Priya R."\n'
                      'emails = ["priya.raman@work.example"]\n')
    before = config.read_bytes()
    export = tmp_path / "Connections.csv"
    export.write_text(LINKEDIN_CSV, encoding="utf-8")

    class Obj:
        state_dir = tmp_path / "state"

        def settings(self) -> Settings:
            from circleback.daemon.config import load_settings

            return load_settings(config, environ=False)

    out = CliRunner().invoke(import_group, ["linkedin", str(export)], obj=Obj())
    assert out.exit_code == 0, out.output
    assert "Connections.csv: 2 added, 1 merged, 0 unchanged, 4 skipped" in out.output
    assert "  added: Mateo García, Nadia Petrova\n  merged: Priya Raman\n" in out.output  # what it did, by name
    assert "`circleback status --all` lists them" in out.output
    assert config.read_bytes() == before


def test_a_people_file_adds_to_the_configs_people(tmp_path: Path) -> None:
    from circleback.daemon.config import load_settings
    from circleback.daemon.errors import ConfigError

    (tmp_path / "people.toml").write_text('[[people]]\nname = "Nadia"\nemails = ["nadia@x.example"]\n')
    config = tmp_path / "config.toml"
    config.write_text('people_file = "people.toml"\n[me]\naddresses = ["me@x.example"]\n\n'
                      '[[people]]\nname = "Ann"\nemails = ["ann@x.example"]\n')
    assert [p.name for p in load_settings(config, environ=False).people] == ["Ann", "Nadia"]
    (tmp_path / "people.toml").write_text('[drafting]\nbudget_per_week = 1\n')
    with pytest.raises(ConfigError, match=r"only \[\[people\]\] entries belong in a people file"):
        load_settings(config, environ=False)


HEADER = "First Name,Last Name,URL,Email Address,Company,Position,Connected On\n"


def test_a_linkedin_row_without_an_address_merges_by_name_into_the_person_from_mail(ledger: Ledger) -> None:
    s = make_settings(people=[])
    with ledger.transaction():
        ledger.person_for_address("maya.patel@acme.example", "Patel, Maya")  # seen in mail, "Last, First"
    csv = HEADER + "Maya,Patel,https://www.linkedin.com/in/maya-patel,,Acme,CTO,01 Jan 2024\n"
    report = import_file(ledger, s, "linkedin", csv)
    assert report.added == [] and report.merged == ["Maya Patel"]
    people = [c for c in contacts(ledger, s, NOW) if c.display_name == "Maya Patel"]
    assert len(people) == 1 and people[0].emails == ["maya.patel@acme.example"]
    assert people[0].profile.linkedin.endswith("/maya-patel") and people[0].profile.title == "CTO"


def test_namesakes_are_never_merged_by_name(ledger: Ledger) -> None:
    s = make_settings(people=[])
    with ledger.transaction():
        ledger.person_for_address("sam.lee@one.example", "Sam Lee")
        ledger.person_for_address("sam.lee@two.example", "Sam Lee")
    csv = HEADER + ("Sam,Lee,https://www.linkedin.com/in/sam-lee-1,,One,,01 Jan 2024\n"
                    "Kim,Ng,https://www.linkedin.com/in/kim-ng-1,,,,01 Jan 2024\n"
                    "Kim,Ng,https://www.linkedin.com/in/kim-ng-2,,,,01 Jan 2024\n")
    report = import_file(ledger, s, "linkedin", csv)
    assert any("Sam Lee: 2 people already have this name" in line for line in report.skipped), report.skipped
    assert report.added == ["Kim Ng", "Kim Ng"]  # two profiles are two people, however they are called
    kims = [c for c in contacts(ledger, s, NOW) if c.display_name == "Kim Ng"]
    assert sorted(c.handle for c in kims) == ["linkedin.com/in/kim-ng-1", "linkedin.com/in/kim-ng-2"]


def test_every_person_can_be_named_by_a_handle(ledger: Ledger) -> None:
    from circleback.daemon.core.lifecycle import find_person
    from circleback.daemon.errors import PersonNotFound

    s = make_settings(people=[])
    csv = HEADER + ("Kim,Ng,https://www.linkedin.com/in/kim-ng-1,,,,01 Jan 2024\n"
                    "Kim,Ng,https://www.linkedin.com/in/kim-ng-2/,,,,01 Jan 2024\n")
    import_file(ledger, s, "linkedin", csv)
    with pytest.raises(PersonNotFound) as found:
        find_person(ledger, s, "kim ng", NOW)
    assert "Kim Ng (linkedin.com/in/kim-ng-1), Kim Ng (linkedin.com/in/kim-ng-2)" in str(found.value)
    assert "<?>" not in str(found.value)
    second = find_person(ledger, s, "https://www.linkedin.com/in/kim-ng-2/", NOW)
    assert second.handle == "linkedin.com/in/kim-ng-2"
    assert find_person(ledger, s, "linkedin.com/in/kim-ng-1", NOW).person_id != second.person_id
    assert find_person(ledger, s, f"#{second.person_id}", NOW).person_id == second.person_id


def test_status_all_lists_imported_people_not_yet_in_touch(tmp_path: Path) -> None:
    from circleback.daemon.cli import main

    (tmp_path / "Mail" / "cur").mkdir(parents=True)
    config = tmp_path / "config.toml"
    config.write_text(f'[me]\nname = "Me"\naddresses = ["{ME}"]\n\n[[accounts]]\nname = "home"\nkind = "maildir"\n'
                      f'path = "{tmp_path / "Mail"}"\n')
    export = tmp_path / "Connections.csv"
    export.write_text(HEADER + "Kim,Ng,https://www.linkedin.com/in/kim-ng-1,,,,01 Jan 2024\n"
                               "Kim,Ng,https://www.linkedin.com/in/kim-ng-2,,,,01 Jan 2024\n", encoding="utf-8")
    base = ["--config", str(config), "--state-dir", str(tmp_path / "state")]
    assert CliRunner().invoke(main, [*base, "import", "linkedin", str(export)]).exit_code == 0
    assert "Kim Ng" not in CliRunner().invoke(main, [*base, "status"]).output  # no note, not urgent
    out = CliRunner().invoke(main, [*base, "status", "--all"], terminal_width=200)
    assert out.exit_code == 0, out.output
    assert "Kim Ng (linkedin.com/in/kim-ng-1)" in out.output and "Kim Ng (linkedin.com/in/kim-ng-2)" in out.output
    listed = CliRunner().invoke(main, [*base, "status", "--all", "--json"]).stdout
    rows = json.loads(listed)
    kims = [r for r in rows if r["name"] == "Kim Ng"]
    assert [(r["due"], r["reason"]) for r in kims] == [(False, "imported; no note until you write to or meet them")] * 2
    assert sorted(r["handle"] for r in kims) == ["linkedin.com/in/kim-ng-1", "linkedin.com/in/kim-ng-2"]


def test_a_vcard_in_last_first_order_merges_by_name(ledger: Ledger) -> None:
    s = make_settings(people=[])
    with ledger.transaction():
        ledger.person_for_address("maya.patel@acme.example", "Maya Patel")
    card = "BEGIN:VCARD\nVERSION:3.0\nFN:Patel\\, Maya\nURL:https://www.linkedin.com/in/maya-patel\nEND:VCARD\n"
    report = import_file(ledger, s, "vcard", card)
    assert report.added == [] and len(report.merged) == 1
