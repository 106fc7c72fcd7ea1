"""`circleback templates check`: every template rendered against sample people, broken overrides named;
and introduction drafts that show tags as the user wrote them."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from circleback.connectors.base import SyncResult
from circleback.daemon.cli.root import Context
from circleback.daemon.cli.templates import digest_sample, note_samples, templates_group
from circleback.daemon.config import Person, Settings
from circleback.daemon.core.classify import Identity
from circleback.daemon.core.contacts import Contact, apply_people
from circleback.daemon.core.digest import digest_context
from circleback.daemon.core.drafting import TEMPLATES, note_context
from circleback.daemon.core.ingest import ingest_mail
from circleback.daemon.core.intros import _canonical_tags, intro_context
from circleback.daemon.core.planner import plan_cycle
from circleback.daemon.core.templating import TemplateRenderer
from circleback.daemon.store.ledger import Ledger
from tests.support.records import ME, NOW, days_ago, mail

GOOD_LINKEDIN = """Subject: Hello again

Hi {{ person | first_name }}, it has been a while. How are you?
"""


def run_check(tmp_path: Path, templates: dict[str, str] | None = None, *args: str) -> Result:
    """The command with a config whose templates_dir holds ``templates``."""
    tdir = tmp_path / "templates"
    tdir.mkdir(parents=True, exist_ok=True)
    for name, text in (templates or {}).items():
        (tdir / name).write_text(text, encoding="utf-8")
    config = tmp_path / "config.toml"
    config.write_text(
        f'[me]\nname = "Alex Morgan"\naddresses = ["{ME}"]\n\n'
        f'[drafting]\ntemplates_dir = "{tdir}"\nlinkedin_limit = 200\n'
    )
    return CliRunner().invoke(templates_group, ["check", *args], obj=Context(config, tmp_path / "state"))


def line_for(out: str, name: str) -> str:
    return next(line for line in out.splitlines() if f" {name} (" in line)


def test_the_defaults_all_pass(tmp_path: Path) -> None:
    out = run_check(tmp_path)
    assert out.exit_code == 0, out.output
    for name in TEMPLATES.values():
        assert line_for(out.output, name).startswith(f"ok     {name} (default)")
    assert "0 error(s), 0 warning(s)" in out.output


def test_broken_overrides_are_named_with_their_file_and_exit_non_zero(tmp_path: Path) -> None:
    out = run_check(
        tmp_path,
        {
            "checkin.txt.j2": "Subject: Hi\n\n{% if person.note %}never closed\n",
            "nudge.txt.j2": "Subject: Hi\n\nHi {{ person.nickname }}, how are you?\n",
            "intro.txt.j2": "Subject: Hi\n\n{{ ''.__class__.__mro__[1].__subclasses__() }}?\n",
            "linkedin.txt.j2": GOOD_LINKEDIN,
        },
    )
    assert out.exit_code == 1
    tdir = tmp_path / "templates"
    checkin = line_for(out.output, "checkin.txt.j2")
    assert checkin.startswith("ERROR") and str(tdir / "checkin.txt.j2") in checkin
    text = out.output
    assert "has a syntax error" in text
    assert "has no attribute 'nickname'" in text and "guard optional ones with {% if %}" in text
    assert "templates may only read the values they are given" in text  # the sandbox held
    assert line_for(text, "linkedin.txt.j2").startswith(f"ok     linkedin.txt.j2 ({tdir / 'linkedin.txt.j2'})")
    assert line_for(text, "intro_ask.txt.j2").startswith("ok     intro_ask.txt.j2 (default)")
    # One syntax error fails every sample alike: said once, not once per sample.
    assert text.count("has a syntax error") == 1
    assert "3 error(s)" in text


def test_a_linkedin_note_over_the_limit_is_an_error_a_long_note_a_warning(tmp_path: Path) -> None:
    long_body = " ".join(["word"] * 170)
    out = run_check(
        tmp_path,
        {
            "linkedin.txt.j2": f"Subject: Hi\n\n{long_body}?\n",
            "checkin.txt.j2": f"Subject: Hi\n\nHi {{{{ person.first_name }}}}, {long_body}?\n",
        },
    )
    assert out.exit_code == 1
    assert "rendered a LinkedIn note of" in out.output and "the limit is 200" in out.output
    sample = "a note (verb-phrase): 'always sends the best book recommendations'"
    assert f"warning: {sample}: 172 words; a note reads best under 150" in out.output
    out = run_check(tmp_path / "only-long", {"checkin.txt.j2": f"Subject: Hi\n\n{long_body}?\n"})
    assert out.exit_code == 0, out.output  # long, but it renders: a warning only


def test_a_misnamed_file_is_syntax_checked_and_flagged(tmp_path: Path) -> None:
    out = run_check(tmp_path, {"chekin.txt.j2": "Subject: Hi\n\n{{ oops\n"})
    assert out.exit_code == 1
    assert line_for(out.output, "chekin.txt.j2").startswith("ERROR")
    assert "renders no template by this name" in out.output and "checkin.txt.j2" in out.output


def test_another_folder_can_be_checked_before_it_goes_in_the_config(tmp_path: Path) -> None:
    other = tmp_path / "drafts-of-templates"
    other.mkdir()
    (other / "linkedin.txt.j2").write_text("Subject: Hi\n\n{{ person.nope }}?\n")
    out = run_check(tmp_path, {}, "--dir", str(other))
    assert out.exit_code == 1 and str(other / "linkedin.txt.j2") in out.output


@pytest.mark.parametrize(("name", "what"), [("nowhere", "does not exist"), ("a-file.j2", "is not a folder")])
def test_a_dir_that_is_no_folder_is_one_error_line_not_0_errors(tmp_path: Path, name: str, what: str) -> None:
    (tmp_path / "a-file.j2").write_text("Subject: Hi\n\nHi\n")
    out = run_check(tmp_path, {}, "--dir", str(tmp_path / name))
    assert out.exit_code == 1
    assert out.output.splitlines() == [
        f"error: --dir {tmp_path / name} {what}; give the folder that holds your .j2 templates"
    ]


def test_a_templates_dir_in_the_config_that_does_not_exist_is_a_config_error(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f'[me]\naddresses = ["{ME}"]\n[drafting]\ntemplates_dir = "{tmp_path / "gone"}"\n')
    out = CliRunner().invoke(templates_group, ["check"], obj=Context(config, tmp_path / "state"))
    assert out.exit_code == 78
    assert out.output.splitlines() == [
        f"error: {config}: drafting.templates_dir: {tmp_path / 'gone'} does not exist "
        "(create it, or remove the key to use the built-in templates)"
    ]


def test_help_describes_it_with_an_example() -> None:
    out = CliRunner().invoke(templates_group, ["check", "--help"])
    assert out.exit_code == 0 and "Example:" in out.output and "sample people" in out.output
    assert templates_group.help and len(templates_group.help.split()) >= 5


# -- the samples stay in step with what real drafts see ---------------------------------------------------------


def real_note(tmp_path: Path):  # noqa: ANN201
    s = Settings.model_validate(
        {
            "me": {"name": "Me Myself", "addresses": [ME]},
            "cadence": {"default": "30d"},
            "people": [{"name": "Ann Lee", "emails": ["ann@x.example"], "note": "your sourdough"}],
        }
    )
    ledger = Ledger.open(tmp_path / "l.db")
    apply_people(ledger, s)
    ingest_mail(
        ledger,
        "home",
        SyncResult([mail("1", sender=ME, to=("ann@x.example",), when=days_ago(40))], {}),
        Identity.from_settings(s),
    )
    (note,) = plan_cycle(ledger, s, NOW).notes
    return s, ledger, note


def test_note_samples_carry_every_key_a_real_note_has(tmp_path: Path) -> None:
    s, ledger, note = real_note(tmp_path)
    real = note_context(ledger, s, note, NOW)
    for label, sample in note_samples(s, NOW):
        assert sample.keys() == real.keys(), label
        assert sample["person"].keys() == real["person"].keys(), label


def test_the_digest_sample_carries_every_key_a_real_digest_has(tmp_path: Path) -> None:
    s, ledger, _ = real_note(tmp_path)
    real = digest_context(ledger, s, NOW, "2026-W25", "k")
    ((_, sample),) = digest_sample(s, NOW)
    assert sample.keys() == real.keys()
    assert sample["goal"].keys() == real["goal"].keys()
    assert sample["due"][0].keys() == real["due"][0].keys()  # Ann is due in the real one
    assert real["needs_note"] == [] and sample["needs_note"][0].keys() == {"name", "email", "reason"}


# -- tags as the user wrote them ------------------------------------------------------------------------------


def contact(pid: int, name: str, **profile: object) -> Contact:
    email = f"{name.split()[0].lower()}@x.example"
    return Contact(
        pid,
        name,
        [email],
        True,
        days_ago(5),
        None,
        None,
        None,
        1,
        0,
        0,
        None,
        Person(name=name, emails=[email], **profile),
    )


@pytest.mark.parametrize("kind", ["intro-ask", "intro"])
def test_introductions_show_tags_in_the_users_wording(kind: str) -> None:
    s = Settings.model_validate({"me": {"name": "Alex Morgan", "addresses": [ME]}})
    lukas = contact(1, "Lukas Becker", seeks=["user research"], offers=["B2B SaaS pricing"])
    nadia = contact(2, "Nadia Petrova", offers=["UX Research"], seeks=["b2b saas pricing"])
    context = intro_context(s, lukas, nadia, _canonical_tags(s), "k", NOW, NOW - timedelta(days=1))
    # Matched through the synonym table ("user research" = "ux research"), shown as each offerer wrote it.
    assert context["gives"] == ["UX Research"] and context["gets"] == ["B2B SaaS pricing"]
    body = TemplateRenderer().render(TEMPLATES[kind], context).body
    assert "UX Research" in body and "ux research" not in body
