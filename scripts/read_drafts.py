#!/usr/bin/env python3
"""Read the drafts circleback writes, the way their recipients would.

Builds a throw-away world (mail, calendar, config, state directory), runs one real
``circleback run --once`` on it with the clock pinned, then prints every draft it
left in Drafts in full (To, Subject, plain body) and who is due at that moment:
the ``circleback status`` table with the same pinned clock, who is due with which
hook, who "needs a note" (due, no hook, no draft), and a few sanity checks
(drafts to the owner's own addresses, two drafts to one person, one name on two
people).  Nothing is sent, nothing outside the temporary folder is written.

Usage (from the repository root, with the venv active: ``. .venv/bin/activate``)::

    python scripts/read_drafts.py enron --user sanchez-m     # one Enron mailbox
    python scripts/read_drafts.py enron --all                # every mailbox in the corpus
    python scripts/read_drafts.py world scripts/worlds/people.toml
    python scripts/read_drafts.py demo                       # `circleback demo --dir TMP`

Options (every mode):
    --keep DIR      build the world in DIR and keep it (default: a temp dir, removed after)
    --json          print only the drafts, as a JSON list of {world, to, subject, body},
                    on stdout; everything else goes to stderr
    --now ISO       pin the clock here instead of the mode's default
    --status-all    print every person in the status table, not only the 30 most urgent
    --no-status     skip the status section
    --retries N     retry a crashing circleback (e.g. a half-edited file) N times (default 3),
    --retry-wait S  waiting S seconds between tries (default 60)

``enron``: the corpus is /work/shared/corpus/email/enron (``--corpus`` to change):
one mbox per original folder, named ``enron__enron.<user>.<folder>``; the ``From ``
separator lines carry a conversion date, not the sending date.  The owner's address
is the most common ``From`` in ``<user>.sent_items`` (plus any other ``From`` there
seen at least twice and in at least a tenth of the messages); their name comes from
``X-From`` (``Sanchez, Monique`` -> ``Monique Sanchez``) or the address.  The world is
one read-only ``mbox`` account (a folder of symlinks to the user's files) and an empty
``maildir`` account that holds the drafts; ``budget_per_week = 50``, no quiet hours,
time zone America/Chicago, and the clock pinned 120 days after the newest ``Date``
in the user's mail, at 10:00 Houston time.

``world FILE``: a made-up world described in one TOML file (see
scripts/worlds/people.toml for a full example):

    [world]     now = ISO datetime (the pinned clock), seed = int (for the filler)
    [me]        copied to the config's [me]: name, addresses (personal first, work
                second), signature, timezone
    [cadence], [drafting], [filters], [intros], [goals], [sync]
                copied into the config ([drafting] never gets quiet hours unless given)
    [pools]     name = [subjects]: filler subjects for older threads
    [[people]]  key = a short id used below; every circleback [[people]] key (name,
                emails, group, note, company, title, cadence, offers, seeks, ...) goes
                to the config, except when config = false (known from mail only).
                World-only keys:
                  mail = "personal" | "work"   which of my addresses writes to them
                  history = { since = days, every = [min, max] days, pool = name }
                           filler threads older than the explicit ones
                  threads = [{ ago = days, subject = "...", turns = "them me ..." }]
                           the latest threads; each turn is one message
    [[threads]] group threads: subject, ago, from (a key, "me", or "key@N" for that
                person's N-th address), people = [keys] (To), replies = [keys]
                (each answers to everyone), optional account = "personal" | "work"
    [[bulk]]    name, address, subject, every (days), headers = { ... }: newsletters,
                no-reply senders, from two years back to now
    [[meetings]] summary, with = [keys], ago (days; negative is ahead), time = "HH:MM"
                (local), minutes, optional rrule, status, account

It becomes ``Mail/`` (Maildir++: INBOX, .Sent, .Archive, .Drafts; file mtimes are
the messages' dates), ``calendar/`` (one .ics per meeting, times in UTC) and
``config.toml`` beside them.

``demo``: runs ``circleback demo --dir TMP/demo`` (its own world and clock; ``--now``
is passed on) and prints its drafts the same way, intro asks included.

Self-contained: the standard library, plus circleback itself for the pinned-clock
status (run in a child process, so a half-edited circleback file only loses that
section).  circleback is run as the ``circleback`` next to this Python, else
``python -m circleback.daemon.cli``.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import mailbox
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, getaddresses, parseaddr, parsedate_to_datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from circleback.daemon.app.demo_world import _fold, _ics_text  # noqa: E402

ENRON_DIR = Path("/work/shared/corpus/email/enron")
ENRON_ZONE = "America/Chicago"
ENRON_AFTER = timedelta(days=120)  # --now: about four months after the newest mail
BUDGET = 50
CRASH_CODES = {1, 2}  # a traceback (1) or a broken import / usage (2); 73/75/77/78 are circleback's own


def _out(json_mode: bool) -> Any:
    """Where human-readable text goes: stdout, or stderr when stdout carries the JSON."""
    return sys.stderr if json_mode else sys.stdout


def say(args: argparse.Namespace, text: str = "") -> None:
    print(text, file=_out(args.json), flush=True)


def banner(args: argparse.Namespace, text: str) -> None:
    say(args, "")
    say(args, "=" * 100)
    say(args, text)
    say(args, "=" * 100)


# --------------------------------------------------------------------------------------- TOML out


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # a JSON string is a TOML basic string
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{json.dumps(str(k))} = {toml_value(v)}" for k, v in value.items()) + " }"
    if isinstance(value, datetime):
        return json.dumps(value.isoformat())
    raise TypeError(f"cannot write {value!r} as TOML")


def toml_table(name: str, values: dict[str, Any], *, array: bool = False) -> list[str]:
    lines = ["", f"[[{name}]]" if array else f"[{name}]"]
    lines += [f"{k} = {toml_value(v)}" for k, v in values.items() if v is not None]
    return lines


# ----------------------------------------------------------------------------------- circleback


def circleback_argv() -> list[str]:
    beside = Path(sys.executable).parent / "circleback"
    if beside.exists():
        return [str(beside)]
    found = shutil.which("circleback")
    return [found] if found else [sys.executable, "-m", "circleback.daemon.cli"]


def clean_env() -> dict[str, str]:
    """This environment without CIRCLEBACK_* overrides: the world's config is the whole config."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CIRCLEBACK_")}
    env.setdefault("COLUMNS", "140")
    return env


def looks_crashed(proc: subprocess.CompletedProcess[str]) -> bool:
    return proc.returncode in CRASH_CODES and ("Traceback" in proc.stderr or "Error" in proc.stderr)


def run_with_retries(args: argparse.Namespace, argv: list[str], reset: Any = None) -> subprocess.CompletedProcess[str]:
    """Run a circleback command; a crash (a file being edited under us) waits and retries."""
    for attempt in range(args.retries + 1):
        proc = subprocess.run(argv, capture_output=True, text=True, env=clean_env(), check=False)
        if not looks_crashed(proc) or attempt == args.retries:
            return proc
        tail = proc.stderr.strip().splitlines()[-1:] or ["?"]
        say(args, f"[read_drafts] circleback crashed (exit {proc.returncode}: {tail[0]}); "
                  f"retrying in {args.retry_wait}s ({attempt + 1}/{args.retries})")
        time.sleep(args.retry_wait)
        if reset:
            reset()
    raise AssertionError("unreachable")


def show_process(args: argparse.Namespace, title: str, proc: subprocess.CompletedProcess[str]) -> None:
    say(args, f"--- {title} (exit {proc.returncode}) ---")
    if proc.stdout.strip():
        say(args, proc.stdout.rstrip())
    if proc.stderr.strip():
        say(args, "[stderr]")
        say(args, proc.stderr.rstrip())


# --------------------------------------------------------------------------------------- drafts


@dataclass
class Draft:
    world: str
    path: Path
    to: str
    subject: str
    body: str
    kind: str
    cc: str = ""

    def as_json(self) -> dict[str, str]:
        return {"world": self.world, "to": self.to, "subject": self.subject, "body": self.body}


def _draft_order(path: Path) -> tuple[int, int, str]:
    """Creation order: maildir names are ``secs.M<usec>P<pid>Q<n>.host``."""
    m = re.match(r"(\d+)\.M(\d+)P\d+Q(\d+)", path.name)
    if m:
        return (int(m.group(1)), int(m.group(3)), path.name)
    return (int(path.stat().st_mtime), 0, path.name)


def read_drafts(world: str, drafts_dir: Path) -> list[Draft]:
    files = [p for sub in ("cur", "new") for p in (drafts_dir / sub).glob("*") if p.is_file()
             and not p.name.startswith(".")]
    drafts = []
    for path in sorted(files, key=_draft_order):
        msg = message_from_bytes(path.read_bytes(), policy=policy.default)
        part = msg.get_body(("plain",))
        body = part.get_content() if part is not None else ""
        key = str(msg.get("X-Circleback-Key", ""))
        kind = key.split("-", 1)[0] if key else "?"
        drafts.append(Draft(world, path, str(msg.get("To", "")), str(msg.get("Subject", "")),
                            body.rstrip("\n"), kind, str(msg.get("Cc", "") or "")))
    return drafts


def print_drafts(args: argparse.Namespace, world: str, drafts: list[Draft]) -> None:
    banner(args, f"[{world}] {len(drafts)} draft(s) in Drafts")
    for i, d in enumerate(drafts, 1):
        say(args, "")
        say(args, f"──── [{world}] draft {i} of {len(drafts)} · {d.kind} · {d.path.name}")
        say(args, f"To:      {d.to}")
        if d.cc:
            say(args, f"Cc:      {d.cc}")
        say(args, f"Subject: {d.subject}")
        say(args, "")
        for line in d.body.splitlines():
            say(args, f"  {line}" if line else "")


_THIRD_PERSON = re.compile(r"\b(he|she|his|her|hers|him|they|their|them)\b", re.I)
_FIRST_PERSON = re.compile(r"^(i|i'm|i've|we|my|our)\b", re.I)
_SENSITIVE = re.compile(r"\b(passed|died|death|funeral|divorc\w*|separat\w*|illness|cancer|surgery|"
                        r"leave|let go|laid off|redundan\w*|miscarriage|custody|grief|sick)\b", re.I)
_FOREIGN = re.compile(r"\b(toujours|même|pour|une|avec|très|hat|mir|beim|nach|sehr|und|immer|viel|ist)\b", re.I)
_FACT = re.compile(r"\b(former|now|works?|lives?|cousin|met through|met at|flatmate|kids?|\d{4})\b", re.I)


def _local_tokens(addr: str) -> list[str]:
    local = addr.split("@", 1)[0].lower()
    return [t for t in re.split(r"[._\-+]+", re.sub(r"\d+$", "", local)) if t]


def maybe_same_person(a: str, b: str) -> bool:
    """Two addresses that look like one person: jmenconi@x / jmenconi@y, haughn@ / jarrod.haughn@,
    rparry@ / robert.parry@, gsolberg@ / geir.solberg@, bert.meyers@ / albert.meyers@."""
    a, b = a.lower(), b.lower()
    if a == b:
        return False
    ta, tb = _local_tokens(a), _local_tokens(b)
    if not ta or not tb:
        return False
    if ta == tb:
        return True
    for x, y in ((ta, tb), (tb, ta)):
        if len(x) == 1 and len(y) >= 2:
            last, first = y[-1], y[0]
            if len(x[0]) >= 4 and x[0] in (last, first[0] + last, first + last, last + first[0]):
                return True
    if len(ta) >= 2 and len(tb) >= 2 and ta[-1] == tb[-1] and len(ta[-1]) >= 3:
        fa, fb = ta[0], tb[0]
        if len(fa) >= 3 and len(fb) >= 3 and (fa.endswith(fb) or fb.endswith(fa)):
            return True
    return False


def note_flags(note: str) -> list[str]:
    """What a note's shape says about quoting it verbatim to the person."""
    flags = []
    if _SENSITIVE.search(note):
        flags.append("sensitive?")
    if _THIRD_PERSON.search(note):
        flags.append("third person")
    if _FIRST_PERSON.search(note.strip()):
        flags.append("first person")
    if _FACT.search(note):
        flags.append("fact?")
    if _FOREIGN.search(note):
        flags.append("not English?")
    if note.strip()[:1].isupper() and not note.strip().lower().startswith(("how you", "your ")):
        flags.append("capitalised")
    if re.search(r"\.\s+\S", note.strip()):
        flags.append("several sentences")
    return flags


def draft_checks(drafts: list[Draft], my_addresses: list[str], my_name: str,
                 notes: dict[str, str] | None = None) -> list[str]:
    """Oddities a reader would notice across the drafts themselves."""
    problems = []
    mine = {a.lower() for a in my_addresses}
    seen: Counter[tuple[str, str]] = Counter()
    recipients: dict[str, str] = {}  # address -> subject line of its draft
    names: dict[str, set[str]] = {}
    for d in drafts:
        if d.kind == "digest":
            continue  # a digest goes to the owner by design
        for name, addr in getaddresses([d.to, d.cc]):
            addr = addr.lower()
            if not addr:
                continue
            seen[(addr, d.kind)] += 1
            recipients.setdefault(addr, d.to)
            if addr in mine:
                problems.append(f"! draft to my own address: {d.to!r} ({d.subject!r})")
            elif any(maybe_same_person(addr, m) for m in mine):
                problems.append(f"? draft to an address that looks like mine: {d.to!r}")
            if my_name and name and name.strip().lower() == my_name.strip().lower():
                problems.append(f"! draft to someone with my own name: {d.to!r}")
            if name:
                names.setdefault(name.strip().lower(), set()).add(addr)
            note = (notes or {}).get(addr, "").strip()
            if note and note.rstrip(".").lower() in d.body.lower():
                flags = note_flags(note)
                problems.append(f"{'!' if flags else '·'} quotes the note verbatim "
                                f"({', '.join(flags) or 'no heuristic flag'}): {d.to} <- {note!r}")
        if not d.body.strip():
            problems.append(f"! empty body: draft to {d.to!r}")
        if re.search(r"\{\{|\}\}|\{%|\bNone\b|\bnan\b", d.body + d.subject):
            problems.append(f"! template residue in draft to {d.to!r}: {d.subject!r}")
    for (addr, kind), n in seen.items():
        if n > 1:
            problems.append(f"! {n} {kind} drafts to {addr}")
    for name, addrs in names.items():
        if len(addrs) > 1:
            problems.append(f"! one name, several drafted addresses (a duplicated person?): {name} -> {sorted(addrs)}")
    addrs = sorted(recipients)
    for i, a in enumerate(addrs):
        for b in addrs[i + 1:]:
            if maybe_same_person(a, b):
                problems.append(f"? two drafts, maybe one person: {recipients[a]} / {recipients[b]}")
    return problems


# --------------------------------------------------------------------------------------- status


def status_section(args: argparse.Namespace, world: str, config: Path, state: Path, now: datetime) -> None:
    if args.no_status:
        return
    argv = [sys.executable, str(Path(__file__).resolve()), "_status", str(config), str(state), now.isoformat()]
    if args.status_all:
        argv.append("--all")
    proc = run_with_retries(args, argv)
    banner(args, f"[{world}] status with the clock pinned to {now.isoformat()}")
    if proc.stdout.strip():
        say(args, proc.stdout.rstrip())
    if proc.returncode or proc.stderr.strip():
        say(args, f"[status helper exit {proc.returncode}]")
        say(args, proc.stderr.rstrip())


def _status_main(argv: list[str]) -> int:
    """Child process: `circleback status` with its clock pinned, then the plan's due and needs-a-note lists."""
    parser = argparse.ArgumentParser(prog="read_drafts.py _status")
    parser.add_argument("config", type=Path)
    parser.add_argument("state", type=Path)
    parser.add_argument("now")
    parser.add_argument("--all", action="store_true")
    opts = parser.parse_args(argv)
    now = datetime.fromisoformat(opts.now).astimezone(UTC).replace(microsecond=0)

    from circleback.daemon.cli import main as cli_main

    words = ["--config", str(opts.config), "--state-dir", str(opts.state), "status", "--now", now.isoformat()]
    words += ["--all"] if opts.all else []
    print(f"$ circleback {' '.join(words)}   # clock pinned")
    try:
        cli_main(words, standalone_mode=False)
    except SystemExit as exc:
        if exc.code:
            print(f"(status exited {exc.code})")
    sys.stdout.flush()

    from circleback.daemon.app import session
    from circleback.daemon.config import load_settings
    from circleback.daemon.core.planner import plan_cycle

    settings = load_settings(opts.config, environ=False)
    ledger = session.open_state(opts.state)
    try:
        plan = plan_cycle(ledger, settings, now)
        waiting = ledger.outbox(states=("pending", "drafted"))
    finally:
        ledger.close()

    def who(s: Any) -> str:
        c = s.contact
        return f"{c.display_name} <{', '.join(c.emails) or '-'}>"

    def ago(t: datetime | None) -> str:
        return "never" if t is None else f"{(now - t).days}d ago"

    due = [s for s in plan.standings if s.due and not s.suggested]
    print()
    print(f"People tracked: {len(plan.standings)}; due now: {len(due)} (and {len(plan.suggested)} drifting, "
          f"not named: suggestions only); drafts waiting: {len(waiting)}; "
          f"budget left this week: {plan.budget_left}{'; QUIET HOURS' if plan.quiet else ''}")
    print()
    print(f"Due and still to draft (a hook; under budget) — {len(plan.notes)}:")
    for n in plan.notes:
        s = n.standing
        print(f"  • {who(s)} — {s.reason}; {n.kind}; hook {s.hook.kind if s.hook else '-'}: "
              f"{s.hook.text if s.hook else ''}")
    print(f"Due, needs a note (no hook, no draft) — {len(plan.needs_note)}:")
    for s in plan.needs_note:
        print(f"  • {who(s)} — {s.reason}; last contact {ago(s.contact.last_contact)} ({s.contact.last_channel})")
    if plan.over_budget:
        print(f"Due but over budget — {len(plan.over_budget)}:")
        for s in plan.over_budget:
            print(f"  • {who(s)} — {s.reason}; hook {s.hook.kind if s.hook else '-'}: {s.hook.text if s.hook else ''}")

    print()
    print("Checks on the people circleback tracks:")
    mine = set(settings.me.addresses)
    me_name = settings.me.name.strip().lower()
    found = 0
    by_name: dict[str, list[Any]] = {}
    for s in plan.standings:
        c = s.contact
        if set(c.emails) & mine:
            print(f"  ! tracks one of my own addresses as a person: {who(s)}")
            found += 1
        if me_name and c.display_name.strip().lower() == me_name:
            print(f"  ! a person with my own name: {who(s)}")
            found += 1
        key = re.sub(r"[^a-z]", "", c.display_name.lower())
        if key:
            by_name.setdefault(key, []).append(s)
        for e in c.emails:
            if re.search(r"imceanotes|^'|'$|\.\.|@enron$|^[a-z]+@enron\.com$", e):
                print(f"  ? odd-looking address: {e} ({c.display_name})")
                found += 1
            if any(maybe_same_person(e, m) for m in mine):
                print(f"  ? an address that looks like mine: {who(s)}")
                found += 1
    for group in by_name.values():
        if len(group) > 1:
            print("  ! one name, several people (duplicated person?): " + "; ".join(who(s) for s in group))
            found += 1
    everyone = [(e, s) for s in plan.standings for e in s.contact.emails]
    for i, (a, sa) in enumerate(everyone):
        for b, sb in everyone[i + 1:]:
            if sa is not sb and maybe_same_person(a, b):
                print(f"  ? maybe one person tracked twice: {who(sa)} / {who(sb)}")
                found += 1
    if not found:
        print("  (none)")
    return 0


# ---------------------------------------------------------------------------------------- cycle


@dataclass
class World:
    label: str
    root: Path
    config: Path
    state: Path
    drafts_dir: Path
    now: datetime
    me_name: str
    me_addresses: list[str]
    notes: list[str] = field(default_factory=list)


def run_world(args: argparse.Namespace, world: World) -> list[Draft]:
    """One `run --once` on a built world, then drafts and status, printed."""
    banner(args, f"[{world.label}] world in {world.root}")
    say(args, f"me: {world.me_name} <{', '.join(world.me_addresses)}>")
    for line in world.notes:
        say(args, line)
    say(args, f"now (pinned): {world.now.isoformat()}")
    argv = circleback_argv() + ["--config", str(world.config), "--state-dir", str(world.state),
                                "run", "--once", "--now", world.now.isoformat()]
    say(args, "$ " + " ".join(argv))

    def reset() -> None:  # a crashed cycle may have left half a ledger: start over
        shutil.rmtree(world.state, ignore_errors=True)
        for sub in ("cur", "new", "tmp"):
            for p in (world.drafts_dir / sub).glob("*"):
                p.unlink()

    proc = run_with_retries(args, argv, reset)
    show_process(args, "circleback run --once", proc)
    if proc.returncode:
        args.failures.append(f"{world.label}: circleback run --once exited {proc.returncode}")
    drafts = read_drafts(world.label, world.drafts_dir)
    print_drafts(args, world.label, drafts)
    status_section(args, world.label, world.config, world.state, world.now)
    problems = draft_checks(drafts, world.me_addresses, world.me_name, config_notes(world.config))
    say(args, "")
    say(args, f"Checks on the drafts of [{world.label}]:")
    for line in problems or ["(none)"]:
        say(args, f"  {line}")
    return drafts


def config_notes(config: Path) -> dict[str, str]:
    """address -> the [[people]] note, from a config file (and its people_file, if any)."""
    try:
        data = tomllib.loads(config.read_text(encoding="utf-8"))
        people = list(data.get("people", []))
        if isinstance(data.get("people_file"), str):
            extra = (config.parent / os.path.expanduser(data["people_file"])).resolve()
            people += tomllib.loads(extra.read_text(encoding="utf-8")).get("people", [])
    except (OSError, tomllib.TOMLDecodeError):
        return {}
    return {e.lower(): p["note"] for p in people if p.get("note") for e in p.get("emails", [])}


def workdir(args: argparse.Namespace, sub: str) -> Path:
    if args.keep:
        root = Path(args.keep).resolve() / sub
        if root.exists() and any(root.iterdir()):
            raise SystemExit(f"{root}: exists and is not empty; give --keep an empty or new folder")
        root.mkdir(parents=True, exist_ok=True)
        return root
    return Path(args.tmp) / sub


def make_maildir(root: Path, folders: tuple[str, ...] = ("", ".Drafts")) -> None:
    for folder in folders:
        for sub in ("cur", "new", "tmp"):
            (root / folder / sub).mkdir(parents=True, exist_ok=True)
        if folder:
            (root / folder / "maildirfolder").touch()


def parse_now(text: str) -> datetime:
    dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return (dt if dt.tzinfo else dt.replace(tzinfo=UTC)).astimezone(UTC).replace(microsecond=0)


# ---------------------------------------------------------------------------------------- enron


def enron_users(corpus: Path) -> list[str]:
    users = set()
    for p in corpus.glob("enron__enron.*"):
        parts = p.name.split(".")
        if len(parts) >= 3:
            users.add(parts[1])
    return sorted(users)


def _header_messages(path: Path) -> list[Any]:
    return list(mailbox.mbox(str(path), create=False))


def _name_from_xfrom(value: str) -> str:
    value = re.sub(r"<[^>]*>", "", value).strip().strip('"').strip()
    if "," in value:
        last, first = (p.strip() for p in value.split(",", 1))
        first = first.split()[0] if first else ""
        value = f"{first} {last}".strip()
    return " ".join(value.split())


def enron_owner(corpus: Path, user: str) -> tuple[str, list[str], list[str]]:
    """(name, addresses, notes) of the mailbox's owner, from the sent_items folder's headers."""
    sent = corpus / f"enron__enron.{user}.sent_items"
    if not sent.exists():
        raise SystemExit(f"{sent}: no sent_items folder for {user}; cannot tell the owner's address")
    froms: Counter[str] = Counter()
    names: dict[str, Counter[str]] = {}
    messages = _header_messages(sent)
    for msg in messages:
        addr = parseaddr(str(msg.get("From", "")))[1].strip().lower()
        if not addr or "@" not in addr:
            continue
        froms[addr] += 1
        xfrom = str(msg.get("X-From", ""))
        if xfrom:
            names.setdefault(addr, Counter())[_name_from_xfrom(xfrom)] += 1
    if not froms:
        raise SystemExit(f"{sent}: no From addresses")
    primary, top = froms.most_common(1)[0]
    addresses = [primary] + [a for a, n in froms.most_common()[1:] if n >= 2 and n * 10 >= len(messages)]
    name = ""
    if primary in names:
        # "Sanchez, Monique </O=ENRON/...>" and "Monique Sanchez" both become "Monique Sanchez"
        name = names[primary].most_common(1)[0][0]
    if not name or "@" in name:
        local = primary.split("@")[0]
        name = " ".join(w.capitalize() for w in re.split(r"[._]", local) if w)
    notes = [f"owner: {top} of {len(messages)} sent_items messages are From {primary}; "
             f"other Froms there: {dict(froms.most_common()[1:6]) or 'none'}"]
    return name, addresses, notes


def enron_newest(files: list[Path]) -> tuple[datetime, int, int]:
    newest, count, bad = None, 0, 0
    for path in files:
        for msg in _header_messages(path):
            raw = msg.get("Date")
            if not raw:
                continue
            try:
                dt = parsedate_to_datetime(str(raw))
            except (TypeError, ValueError):
                bad += 1
                continue
            if dt.tzinfo is None:
                dt = dt.replace(tzinfo=UTC)
            count += 1
            if newest is None or dt > newest:
                newest = dt
    if newest is None:
        raise SystemExit("no parseable Date header in the user's mail")
    return newest, count, bad


def build_enron(args: argparse.Namespace, user: str) -> World:
    corpus = Path(args.corpus)
    files = sorted(corpus.glob(f"enron__enron.{user}.*"))
    if not files:
        raise SystemExit(f"no files enron__enron.{user}.* in {corpus}; users: {', '.join(enron_users(corpus))}")
    root = workdir(args, f"enron-{user}")
    name, addresses, notes = enron_owner(corpus, user)
    mbox_dir = root / "mbox"
    mbox_dir.mkdir(parents=True, exist_ok=True)
    for f in files:
        (mbox_dir / f.name).symlink_to(f.resolve())
    drafts_root = root / "Mail"
    make_maildir(drafts_root)
    newest, count, bad = enron_newest(files)
    zone = ZoneInfo(ENRON_ZONE)
    day = (newest + ENRON_AFTER).astimezone(zone).date()
    now = parse_now(args.now) if args.now else datetime.combine(day, dtime(10), zone).astimezone(UTC)
    lines = [
        f"# read_drafts.py: the Enron mailbox {user}",
        *toml_table("me", {"name": name, "addresses": addresses, "signature": name.split()[0] if name else "",
                           "timezone": ENRON_ZONE}),
        *toml_table("sync", {"lookback": "10y"}),
        *toml_table("accounts", {"name": "enron", "kind": "mbox", "path": str(mbox_dir)}, array=True),
        *toml_table("accounts", {"name": "drafts", "kind": "maildir", "path": str(drafts_root)}, array=True),
        *toml_table("drafting", {"budget_per_week": BUDGET, "account": "drafts"}),
    ]
    config = root / "config.toml"
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")
    notes += [f"files: {', '.join(f.name.split('.', 2)[2] for f in files)}",
              f"newest Date of {count} ({bad} unparseable): {newest.isoformat()}"]
    return World(f"enron:{user}", root, config, root / "state", drafts_root / ".Drafts", now, name, addresses, notes)


# ---------------------------------------------------------------------------------------- world


PERSON_KEYS = ("name", "emails", "group", "cadence", "note", "say", "greet", "tags", "company", "title", "linkedin",
               "offers", "seeks", "keep_apart", "do_not_contact")
PASS_TABLES = ("sync", "cadence", "filters", "drafting", "intros", "goals", "digest")
BODIES_ME = ("Thanks, that's really helpful.", "Sounds great, count me in.", "Brilliant, speak soon.",
             "Good shout - let's do that.", "Perfect, see you then.", "Ha, yes. More soon x")
BODIES_THEM = ("Let me know what you think.", "Would be great to catch up properly soon.",
               "Here's what I had in mind - does that work for you?", "No rush on this.",
               "Thought you'd like this one.", "Are you free sometime next week?")
SHAPES = ("them me", "me them me", "me", "them me them me", "me them")


@dataclass
class Msg:
    when: datetime
    sender: tuple[str, str]
    to: list[tuple[str, str]]
    subject: str
    mid: str
    body: str
    reply_to: Msg | None = None
    headers: dict[str, str] = field(default_factory=dict)


class WorldBuilder:
    def __init__(self, spec: dict[str, Any], now: datetime) -> None:
        self.spec = spec
        self.now = now
        me = spec["me"]
        self.zone = ZoneInfo(me.get("timezone", "UTC"))
        addrs = me["addresses"]
        self.me_name = me.get("name", "")
        self.me_personal = (self.me_name, addrs[0])
        self.me_work = (self.me_name, addrs[1] if len(addrs) > 1 else addrs[0])
        self.people = {p["key"]: p for p in spec.get("people", [])}
        self.seed = int(spec.get("world", {}).get("seed", 7))
        self.messages: list[Msg] = []

    # -- who and when
    def me(self, account: str) -> tuple[str, str]:
        return self.me_work if account == "work" else self.me_personal

    def who(self, ref: str, account: str) -> tuple[str, str]:
        if ref == "me":
            return self.me(account)
        key, _, index = ref.partition("@")
        p = self.people[key]
        return (p["name"], p["emails"][int(index or 0)])

    def when(self, rng: random.Random, ago: float, work: bool) -> datetime:
        day = (self.now.astimezone(self.zone) - timedelta(days=ago)).date()
        if work:
            day -= timedelta(days=max(0, day.weekday() - 4))  # weekends fall back to Friday
            hour = rng.randint(9, 16)
        else:
            hour = rng.randint(10, 19) if day.weekday() >= 5 else rng.randint(18, 21)
        return self.local(day, hour, rng.randrange(60))

    def local(self, day: date, hour: int, minute: int = 0) -> datetime:
        return datetime.combine(day, dtime(hour, minute), self.zone).astimezone(UTC)

    def later(self, t: datetime, hours: float) -> datetime:
        nxt = t + timedelta(hours=hours)
        if nxt >= self.now:
            nxt = t + (self.now - t) / 2
        return nxt.replace(second=0, microsecond=0)

    def mid(self, key: str) -> str:
        return hashlib.sha256(f"{self.seed}|{key}".encode()).hexdigest()[:24] + "@readdrafts.example"

    # -- threads
    def thread(self, key: str, subject: str, start: datetime, senders: list[tuple[str, str]],
               everyone: list[tuple[str, str]], work: bool, rng: random.Random) -> None:
        prev: Msg | None = None
        when = start
        for i, sender in enumerate(senders):
            if i:
                when = self.later(when, rng.uniform(0.3, 3) if work else rng.uniform(2, 30))
            mine = sender in (self.me_personal, self.me_work)
            to = [p for p in everyone if p != sender]
            subj = subject if i == 0 else (f"Re: {subject}" if subject else "Re:")
            msg = Msg(when, sender, to, subj, self.mid(f"{key}/{i}"),
                      rng.choice(BODIES_ME if mine else BODIES_THEM), prev)
            self.messages.append(msg)
            prev = msg

    def person_threads(self, p: dict[str, Any]) -> None:
        account = p.get("mail", "personal")
        work = account == "work"
        me = self.me(account)
        them = (p["name"], p["emails"][0])
        rng = random.Random(f"{self.seed}:{p['key']}")
        explicit = p.get("threads", [])
        for ti, t in enumerate(explicit):
            turns = (t.get("turns") or rng.choice(SHAPES)).split()
            senders = [me if w == "me" else them for w in turns]
            self.thread(f"{p['key']}/x{ti}", t.get("subject", ""), self.when(rng, t["ago"], work),
                        senders, [me, them], work, rng)
        hist = p.get("history")
        if not hist:
            return
        pool = self.spec.get("pools", {}).get(hist.get("pool", ""), [""])
        lo, hi = hist.get("every", [30, 90])
        ago = max([t["ago"] for t in explicit] or [0])
        n = 0
        while True:
            ago += rng.uniform(lo, hi)
            if ago >= hist.get("since", 0):
                break
            turns = rng.choice(SHAPES).split()
            self.thread(f"{p['key']}/h{n}", rng.choice(pool), self.when(rng, ago, work),
                        [me if w == "me" else them for w in turns], [me, them], work, rng)
            n += 1

    def group_threads(self) -> None:
        for gi, t in enumerate(self.spec.get("threads", [])):
            first_key = t["from"].partition("@")[0]
            account = t.get("account") or ("work" if first_key != "me" and
                                           self.people[first_key].get("mail") == "work" else "personal")
            rng = random.Random(f"{self.seed}:group{gi}")
            starter = self.who(t["from"], account)
            everyone = [starter] + [self.who(k, account) for k in t.get("people", [])]
            senders = [starter] + [self.who(k, account) for k in t.get("replies", [])]
            self.thread(f"group{gi}", t["subject"], self.when(rng, t["ago"], account == "work"),
                        senders, everyone, account == "work", rng)

    def bulk(self) -> None:
        for bi, b in enumerate(self.spec.get("bulk", [])):
            every = b.get("every", 30)
            ago, n = 720.0, 0
            while ago > 1:
                day = (self.now.astimezone(self.zone) - timedelta(days=ago)).date()
                self.messages.append(Msg(self.local(day, 7, 30), (b["name"], b["address"]), [self.me_personal],
                                         f"{b['subject']} (#{n + 1})", self.mid(f"bulk{bi}/{n}"),
                                         "Read this online.", None, dict(b.get("headers", {}))))
                ago -= every
                n += 1

    # -- files
    def render(self, m: Msg) -> bytes:
        e = EmailMessage(policy=policy.SMTP)
        e["From"] = formataddr(m.sender)
        e["To"] = ", ".join(formataddr(a) for a in m.to)
        e["Subject"] = m.subject
        e["Date"] = format_datetime(m.when.astimezone(self.zone))
        e["Message-ID"] = f"<{m.mid}>"
        if m.reply_to is not None:
            refs, r = [], m.reply_to
            while r is not None:
                refs.insert(0, f"<{r.mid}>")
                r = r.reply_to
            e["In-Reply-To"] = f"<{m.reply_to.mid}>"
            e["References"] = " ".join(refs)
        for k, v in m.headers.items():
            e[k] = v
        e.set_content(m.body + "\n")
        return e.as_bytes()

    def folder(self, m: Msg) -> str:
        if m.sender in (self.me_personal, self.me_work):
            return ".Sent"
        return "" if self.now - m.when <= timedelta(days=30) else ".Archive"

    def write_mail(self, maildir: Path) -> int:
        make_maildir(maildir, ("", ".Sent", ".Archive", ".Drafts"))
        self.messages.sort(key=lambda m: (m.when, m.mid))
        count = 0
        for n, m in enumerate(self.messages, 1):
            if m.when >= self.now:
                continue
            path = maildir / self.folder(m) / "cur" / f"{int(m.when.timestamp())}.rd{n}.readdrafts:2,S"
            path.write_bytes(self.render(m))
            os.utime(path, (m.when.timestamp(), m.when.timestamp()))
            count += 1
        return count

    def write_calendar(self, folder: Path) -> int:
        folder.mkdir(parents=True, exist_ok=True)
        meetings = self.spec.get("meetings", [])
        for i, mt in enumerate(meetings):
            account = mt.get("account", "personal")
            me = self.me(account)
            hh, mm = (int(x) for x in mt.get("time", "10:00").split(":"))
            day = (self.now.astimezone(self.zone) - timedelta(days=mt["ago"])).date()
            if account == "work":
                day -= timedelta(days=max(0, day.weekday() - 4))
            start = self.local(day, hh, mm)
            end = start + timedelta(minutes=mt.get("minutes", 60))
            stamp = min(start - timedelta(days=14), self.now)
            lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//circleback//read_drafts world//EN",
                     "BEGIN:VEVENT", f"UID:rd-meeting-{i}@readdrafts.example",
                     f"DTSTAMP:{stamp:%Y%m%dT%H%M%SZ}", f"DTSTART:{start:%Y%m%dT%H%M%SZ}",
                     f"DTEND:{end:%Y%m%dT%H%M%SZ}", f"SUMMARY:{ics_text(mt['summary'])}",
                     f"STATUS:{mt.get('status', 'CONFIRMED')}"]
            if mt.get("rrule"):
                lines.append(f"RRULE:{mt['rrule']}")
            lines.append(f'ORGANIZER;CN="{me[0]}":mailto:{me[1]}')
            for name, addr in [me] + [self.who(k, account) for k in mt.get("with", [])]:
                lines.append(f'ATTENDEE;CN="{name}";CUTYPE=INDIVIDUAL;ROLE=REQ-PARTICIPANT;'
                             f"PARTSTAT=ACCEPTED:mailto:{addr}")
            lines += ["END:VEVENT", "END:VCALENDAR"]
            text = "\r\n".join(part for line in lines for part in ics_fold(line)) + "\r\n"
            (folder / f"rd-meeting-{i}.ics").write_text(text, encoding="utf-8", newline="")
        return len(meetings)

    def config(self, root: Path) -> str:
        spec = self.spec
        lines = ["# read_drafts.py: a made-up world", *toml_table("me", dict(spec["me"]))]
        tables = {k: dict(spec.get(k, {})) for k in PASS_TABLES}
        tables["drafting"].setdefault("budget_per_week", BUDGET)
        tables["sync"].setdefault("lookback", "3y")
        for name in PASS_TABLES:
            if tables[name]:
                lines += toml_table(name, tables[name])
        lines += toml_table("accounts", {"name": "mail", "kind": "maildir", "path": str(root / "Mail")}, array=True)
        if spec.get("meetings"):
            lines += toml_table("accounts", {"name": "calendar", "kind": "ics", "path": str(root / "calendar")},
                                array=True)
        for p in spec.get("people", []):
            if p.get("config", True):
                lines += toml_table("people", {k: p[k] for k in PERSON_KEYS if k in p}, array=True)
        return "\n".join(lines) + "\n"


# RFC 5545 escaping and folding, as the demo world writes its .ics files.
ics_text = _ics_text
ics_fold = _fold


def build_world(args: argparse.Namespace, spec_path: Path) -> World:
    spec = tomllib.loads(spec_path.read_text(encoding="utf-8"))
    now = parse_now(args.now or spec.get("world", {}).get("now") or datetime.now(UTC).isoformat())
    root = workdir(args, f"world-{spec_path.stem}")
    b = WorldBuilder(spec, now)
    for p in spec.get("people", []):
        b.person_threads(p)
    b.group_threads()
    b.bulk()
    n_mail = b.write_mail(root / "Mail")
    n_events = b.write_calendar(root / "calendar")
    config = root / "config.toml"
    config.write_text(b.config(root), encoding="utf-8")
    people = spec.get("people", [])
    notes = [f"{len(people)} people ({sum(1 for p in people if p.get('config', True))} in the config), "
             f"{n_mail} messages, {n_events} calendar files, from {spec_path}"]
    return World(f"world:{spec_path.stem}", root, config, root / "state", root / "Mail" / ".Drafts", now,
                 b.me_name, list(spec["me"]["addresses"]), notes)


# ----------------------------------------------------------------------------------------- demo


def run_demo_mode(args: argparse.Namespace) -> list[Draft]:
    root = workdir(args, "demo")
    argv = circleback_argv() + ["demo", "--dir", str(root)] + (["--now", args.now] if args.now else [])
    banner(args, f"[demo] world in {root}")
    say(args, "$ " + " ".join(argv))

    def reset() -> None:
        shutil.rmtree(root, ignore_errors=True)

    proc = run_with_retries(args, argv, reset)
    show_process(args, "circleback demo", proc)
    if proc.returncode:
        args.failures.append(f"demo: circleback demo exited {proc.returncode}")
    drafts = read_drafts("demo", root / "Mail" / ".Drafts")
    print_drafts(args, "demo", drafts)
    marker = root / "circleback-demo.txt"
    config = root / "config.toml"
    if marker.exists() and config.exists():
        now = parse_now(marker.read_text(encoding="utf-8").strip())
        status_section(args, "demo", config, root / "state", now)
        spec = tomllib.loads(config.read_text(encoding="utf-8"))
        me = spec.get("me", {})
        problems = draft_checks(drafts, me.get("addresses", []), me.get("name", ""), config_notes(config))
        say(args, "")
        say(args, "Checks on the drafts of [demo]:")
        for line in problems or ["(none)"]:
            say(args, f"  {line}")
    return drafts


# ------------------------------------------------------------------------------------------ main


def parse_args(argv: list[str]) -> argparse.Namespace:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--keep", metavar="DIR", help="build the world in DIR and keep it")
    common.add_argument("--json", action="store_true", help="print the drafts as JSON on stdout (the rest on stderr)")
    common.add_argument("--now", help="pin the clock here (ISO 8601) instead of the mode's default")
    common.add_argument("--status-all", action="store_true", help="every person in the status table")
    common.add_argument("--no-status", action="store_true", help="skip the status section")
    common.add_argument("--retries", type=int, default=3, help="retries when circleback crashes (default 3)")
    common.add_argument("--retry-wait", type=float, default=60, help="seconds between retries (default 60)")
    parser = argparse.ArgumentParser(prog="read_drafts.py", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="mode", required=True)
    en = sub.add_parser("enron", parents=[common], help="an Enron mailbox from the corpus")
    who = en.add_mutually_exclusive_group(required=True)
    who.add_argument("--user", action="append", help="e.g. sanchez-m (repeatable)")
    who.add_argument("--all", action="store_true", help="every user in the corpus")
    en.add_argument("--corpus", default=str(ENRON_DIR), help=f"default {ENRON_DIR}")
    wo = sub.add_parser("world", parents=[common], help="a made-up world from a TOML file")
    wo.add_argument("file", type=Path)
    sub.add_parser("demo", parents=[common], help="circleback demo --dir TMP")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["_status"]:
        return _status_main(argv[1:])
    args = parse_args(argv)
    drafts: list[Draft] = []
    args.failures = []
    with contextlib.ExitStack() as stack:
        args.tmp = None if args.keep else stack.enter_context(tempfile.TemporaryDirectory(prefix="read-drafts-"))
        if args.mode == "enron":
            users = enron_users(Path(args.corpus)) if args.all else args.user
            for user in users:
                drafts += run_world(args, build_enron(args, user))
        elif args.mode == "world":
            drafts += run_world(args, build_world(args, args.file))
        else:
            drafts += run_demo_mode(args)
        if args.json:
            print(json.dumps([d.as_json() for d in drafts], ensure_ascii=False, indent=2))
        else:
            banner(args, f"{len(drafts)} draft(s) in all" + (f"; world kept in {args.keep}" if args.keep else ""))
        for line in args.failures:
            print(f"read_drafts: {line}", file=sys.stderr)
    return 1 if args.failures else 0


if __name__ == "__main__":
    with contextlib.suppress(BrokenPipeError):
        sys.exit(main())
