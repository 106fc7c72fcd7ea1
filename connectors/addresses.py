"""What an address must be for circleback to use it: one rule for reading and for drafting.

A person is only worth tracking if a note to them can be written, so every
connector keeps only the addresses the draft builder (``daemon/core/message.py``)
would write to. An address the builder refuses would make a person who is due
forever and a "problem" line on every run: a hostile encoded header such as
``=?utf-8?q?_attacker@evil.example?=`` leaves ``_attacker@evil.example?=``, which
parses as an address but whose domain is no host name.

The rule: a dot-atom local part (RFC 5322 3.4.1; quoted local parts are legal,
but no contact of a professional has one and parsers disagree on them), no
encoded-word in it, at most 64 characters; a domain of at least two host-name
labels (IDNA for non-ASCII) or an address literal; at most 254 characters
(RFC 5321 4.5.3.1).
"""

from __future__ import annotations

import ipaddress
import re
from functools import lru_cache

ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]"
_DOT_ATOM = re.compile(rf"{ATEXT}+(?:\.{ATEXT}+)*")
_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")


def addr_spec_problem(email: str) -> tuple[str, str]:
    """(``email`` with its domain in ASCII, "") if it is usable, else (``email``, what is wrong)."""
    local, at, domain = email.rpartition("@")
    problem = _local_part_problem(local) if at else "has no '@'"
    if not problem:
        domain, problem = _checked_domain(domain)
    if not problem and len(local) + 1 + len(domain) > 254:  # RFC 5321 4.5.3.1.3
        problem = "is longer than 254 characters"
    return (email, problem) if problem else (f"{local}@{domain}", "")


@lru_cache(maxsize=4096)
def is_usable_address(email: str) -> bool:
    """Whether ``email`` passes :func:`addr_spec_problem` (cached: readers see the same addresses often)."""
    return not addr_spec_problem(email)[1]


def _local_part_problem(local: str) -> str:
    if not local:
        return "has an empty local part"
    if "@" in local:
        return "has more than one '@'"
    if not _DOT_ATOM.fullmatch(local):
        return "has a local part with spaces, controls, quotes, <>, commas or non-ASCII"
    if "=?" in local:
        return "has a local part that looks like an encoded-word"
    if len(local) > 64:
        return "has a local part longer than 64 characters"
    return ""


def _checked_domain(domain: str) -> tuple[str, str]:
    if domain.startswith("[") and domain.endswith("]"):
        return domain, "" if _is_address_literal(domain[1:-1]) else "has a bad address literal"
    try:
        ascii_domain = domain.encode("idna").decode("ascii") if not domain.isascii() else domain
    except UnicodeError:
        return domain, "has a domain that cannot be written in ASCII (IDNA)"
    labels = ascii_domain.split(".")
    if len(labels) < 2 or not all(_LABEL.fullmatch(label) for label in labels):
        return domain, "has a domain that is not a dotted host name"
    if labels[-1].isdigit() or len(ascii_domain) > 253:
        return domain, "has a domain that is not a host name"
    return ascii_domain, ""


def _is_address_literal(inner: str) -> bool:
    """RFC 5321 4.1.3: ``1.2.3.4`` or ``IPv6:...``, nothing else."""
    tagged_v6 = inner[:5].lower() == "ipv6:"
    try:
        ip = ipaddress.ip_address(inner[5:] if tagged_v6 else inner)
    except ValueError:
        return False
    return ip.version == (6 if tagged_v6 else 4)
