# Copyright: oob-prep contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure parts of applying one nftables table (the module nft_table). No I/O, no Ansible.

- ``check_content``: the candidate text may define only the one table it is for (``table <family> <name> { ... }``
  blocks, ``define`` lines and comments): nothing in it can touch another table or the whole ruleset (no ``flush
  ruleset``, no ``delete table`` of another table, no ``include``).
- ``transaction``: the file ``nft -f`` applies in one transaction, which works whether the table exists or not:
  ``table <f> <n> {}`` (creates it empty when missing), ``delete table <f> <n>``, then the candidate.
- ``normalize``: a listing (``nft -s list table``) made comparable: stateful values (counters, quotas, element
  timeouts) dropped, trailing spaces and leading or trailing blank lines removed.
- ``plan``: the live listing against the candidate's canonical listing.
"""

from __future__ import annotations

import re

FAMILIES = ("inet", "ip", "ip6", "arp", "bridge", "netdev")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_./-]{0,255}$")
_TABLE = re.compile(r"^table\s+(?:(?P<family>[a-z0-9]+)\s+)?(?P<name>[^\s{]+)\s*\{", re.S)
_DEFINE = re.compile(r"^(?:define|redefine)\s+[A-Za-z_][A-Za-z0-9_]*\s*=", re.S)


def check_name(family: str, name: str) -> None:
    if family not in FAMILIES:
        raise ValueError(f"family must be one of {', '.join(FAMILIES)}, not {family!r}")
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(f"table name {name!r} is not a valid nftables identifier (a letter or '_', then letters, "
                         "digits, '_', '.', '/', '-')")  # fmt: skip


def statements(text: str) -> list[str]:
    """The top-level statements of an nft file, comments removed (a ``{...}`` block is part of its statement)."""
    out, current, depth, i = [], [], 0, 0
    quote = False
    while i < len(text):
        ch = text[i]
        if quote:
            current.append(ch)
            if ch == '"':
                quote = False
        elif ch == '"':
            quote = True
            current.append(ch)
        elif ch == "#":
            while i < len(text) and text[i] != "\n":
                i += 1
            continue
        elif ch == "\\" and i + 1 < len(text) and text[i + 1] == "\n":
            i += 2  # a continued line
            continue
        elif ch == "{":
            depth += 1
            current.append(ch)
        elif ch == "}":
            depth -= 1
            if depth < 0:
                raise ValueError("the content has a '}' without its '{'")
            current.append(ch)
            if depth == 0:
                out.append("".join(current).strip())
                current = []
        elif ch in "\n;" and depth == 0:
            out.append("".join(current).strip())
            current = []
        else:
            current.append(ch)
        i += 1
    if quote:
        raise ValueError("the content has an unterminated string")
    if depth:
        raise ValueError("the content has a '{' without its '}'")
    out.append("".join(current).strip())
    return [s for s in out if s]


def check_content(text: str, family: str, name: str) -> None:
    """ValueError unless ``text`` defines table ``family name`` and nothing else."""
    check_name(family, name)
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"content is empty: give the text of table {family} {name}")
    tables = 0
    for stmt in statements(text):
        head = " ".join(stmt.split())[:80]
        match = _TABLE.match(stmt)
        if match:
            fam = match.group("family") or "ip"  # nft's default family
            if (fam, match.group("name")) != (family, name):
                raise ValueError(f"content defines table {fam} {match.group('name')}, but this task manages table "
                                 f"{family} {name} only: one table per task")  # fmt: skip
            tables += 1
        elif not _DEFINE.match(stmt):
            raise ValueError(f"content may hold only 'table {family} {name} {{ ... }}' blocks, define lines and "
                             f"comments; found: {head}")  # fmt: skip
    if not tables:
        raise ValueError(f"content does not define table {family} {name}")


PREAMBLE_LINES = 2  # the lines transaction() puts before the content


def transaction(family: str, name: str, content: str) -> str:
    """One nft file that replaces the table atomically, whether it exists or not, and touches nothing else."""
    check_name(family, name)
    return f"table {family} {name} {{}}\ndelete table {family} {name}\n{content.rstrip()}\n"


_STATEFUL = (
    (re.compile(r"\bcounter packets \d+ bytes \d+"), "counter"),
    (re.compile(r"\s+used \d+ [a-z]*bytes\b"), ""),
    (re.compile(r"\s+expires \S+?(?=[,\s}])"), ""),
)


def normalize(listing: str | None) -> str:
    """A listing without stateful values or trailing spaces; '' for a missing table."""
    if not listing:
        return ""
    lines = []
    for raw in listing.splitlines():
        line = raw
        for pattern, repl in _STATEFUL:
            line = pattern.sub(repl, line)
        lines.append(line.rstrip())
    return "\n".join(lines).strip("\n") + "\n"


def plan(want: str, have: str | None, state: str = "present") -> dict:
    """{changed, before, after, action}: ``want`` is the candidate's canonical listing, ``have`` the live one (None when
    the table does not exist); ``action`` is ``replace``, ``delete`` or None."""
    if state not in ("present", "absent"):
        raise ValueError(f"state must be present or absent, not {state!r}")
    before = normalize(have)
    if state == "absent":
        return {
            "changed": have is not None,
            "before": before,
            "after": "",
            "action": "delete" if have is not None else None,
        }
    after = normalize(want)
    changed = have is None or before != after
    return {"changed": changed, "before": before, "after": after, "action": "replace" if changed else None}
