#!/usr/bin/python
# Copyright: oob-prep contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: nft_table
short_description: Ensure one nftables table on a Linux router or firewall, replaced atomically, nothing else touched
description:
  - "Applies one nftables table given as text (for example the C(.nft) file that network_flow_rules renders) on the
    host it runs on, and only that table: every other table of the ruleset stays as it is."
  - "Reads the live table (C(nft -s list table)), validates the candidate against the live ruleset (C(nft -c -f) of
    the exact transaction to apply), and works out the candidate's canonical form by loading it into a throw-away
    network namespace (C(unshare --net), which leaves with the process: nothing to clean up, nothing applied to the
    host) and listing it there. The two listings, printed by the same nft, are compared with stateful values
    (counters, quotas, element timeouts) dropped. This is more robust than normalizing the text by hand: nft
    rewrites what it is given (C(priority 0) becomes C(priority filter), sets are merged, ranges and defaults are
    expanded), and only nft knows how."
  - "When the namespace cannot be made (no C(unshare), or no right to make namespaces) or the candidate needs
    something of the host's (C(iif) of an interface that exists only there), the module compares the text without
    comments and blank lines instead, says so in a warning and in RV(compared_as), and may then report a change
    where nothing differs."
  - "Applies in one transaction (C(nft -f) of a file holding C(table <family> <name> {}), C(delete table <family>
    <name>), then the candidate): the table is created if missing, else replaced as a whole, and if nft refuses any
    part nothing is applied. Then reads the table back and fails if it is not what was planned."
  - "The content may hold only C(table <family> <name> { ... }) blocks of this one table, C(define) lines and
    comments; anything that could touch another table or the whole ruleset (C(flush ruleset), C(delete table),
    C(include)) is refused before nft runs."
  - Elements that rules add to sets at run time (dynamic sets) count as drift.
version_added: "1.0.0"
author: oob-prep contributors (@oob-prep)
extends_documentation_fragment:
  - oob.prep.oob_action_groups.network
options:
  name:
    description: The table's name.
    type: str
    required: true
  family:
    description: The table's family.
    type: str
    choices: [inet, ip, ip6, arp, bridge, netdev]
    default: inet
  content:
    description:
      - The table's text. Required with O(state=present). On the controller, C({{ lookup('file', path) }}) reads a
        rendered file.
    type: str
  state:
    description: V(present) ensures the table holds exactly O(content); V(absent) deletes the table.
    type: str
    choices: [present, absent]
    default: present
attributes:
  check_mode:
    support: full
    description: Reads, validates and compares; applies nothing.
  diff_mode:
    support: full
    description: The live table's listing before, the candidate's canonical listing after.
requirements:
  - nft (nftables) on the managed host, run as root
  - unshare (util-linux) for the canonical comparison
notes:
  - nftables has no per-table lock; two tasks replacing the same table at once each apply a whole table, and the
    last one wins.
  - The module network_flow_rules renders the out of band management port matrix as such a table.
"""

EXAMPLES = r"""
- name: The out of band management table on the router, from the rendered file
  nft_table:
    name: oob_prep
    content: "{{ lookup('file', playbook_dir ~ '/../artifacts/' ~ oob_env ~ '/oob-flows.nft') }}"
  become: true

- name: The lab's router, a network namespace reached through the oob_netns connection (docs/adr/0006)
  nft_table:
    name: oob_prep
    content: "{{ lookup('file', playbook_dir ~ '/../artifacts/lab/oob-flows.nft') }}"
  delegate_to: oobp-rtr

- name: Remove it
  nft_table:
    name: oob_prep
    state: absent
"""

RETURN = r"""
table:
  description: The table, as C(<family> <name>).
  returned: success
  type: str
  sample: inet oob_prep
existed:
  description: Whether the table existed before.
  returned: success
  type: bool
listing:
  description: The table as nft lists it after the run (in check mode, as it would be), stateful values dropped.
  returned: success
  type: str
compared_as:
  description: V(namespace) (canonical listings compared) or V(text) (the fallback; see the description).
  returned: success
  type: str
  sample: namespace
"""

import os
import re

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.oob.prep.plugins.module_utils.checks import run_and_exit
from ansible_collections.oob.prep.plugins.module_utils.network.nft import (
    FAMILIES,
    PREAMBLE_LINES,
    check_content,
    check_name,
    normalize,
    plan,
    statements,
    transaction,
)


class NftError(Exception):
    """nft (or the namespace around it) refused; ``kind`` says which step."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind


def argument_spec() -> dict:
    return dict(
        name=dict(type="str", required=True),
        family=dict(type="str", choices=list(FAMILIES), default="inet"),
        content=dict(type="str"),
        state=dict(type="str", choices=["present", "absent"], default="present"),
    )


class Nft:
    """nft on the managed host: list, check, apply, and canonical listings from a throw-away namespace."""

    def __init__(self, module: AnsibleModule):
        self.module = module
        self.nft = module.get_bin_path("nft")
        if not self.nft:
            raise NftError("nft", "nft was not found on the host: install nftables (Debian: apt-get install nftables)")

    def _run(self, args: list[str], data: str | None = None):
        return self.module.run_command([self.nft, *args], data=data)

    def _file(self, text: str) -> str:
        path = os.path.join(self.module.tmpdir, "table.nft")
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text)
        return path

    def list_table(self, family: str, name: str) -> str | None:
        rc, out, err = self._run(["-s", "list", "table", family, name])
        if rc == 0:
            return out
        if "No such file or directory" in err:
            return None
        raise NftError("nft", f"nft cannot list table {family} {name}: {_clean(err)}")

    def check(self, payload: str) -> None:
        path = self._file(payload)
        rc, _out, err = self._run(["-c", "-f", path])
        if rc != 0:
            raise NftError("validate", f"nft refused the table (nothing was applied): {_clean(err, path)}")

    def apply(self, payload: str) -> None:
        path = self._file(payload)
        rc, _out, err = self._run(["-f", path])
        if rc != 0:
            raise NftError("apply", f"nft refused the transaction (nothing was applied): {_clean(err, path)}")

    def delete(self, family: str, name: str) -> None:
        rc, _out, err = self._run(["delete", "table", family, name])
        if rc != 0:
            raise NftError("apply", f"nft cannot delete table {family} {name}: {_clean(err)}")

    def canonical(self, payload: str, family: str, name: str) -> tuple[str | None, str]:
        """(listing, '') of the payload loaded into a new, empty network namespace; (None, why) when that fails."""
        unshare = self.module.get_bin_path("unshare")
        if not unshare:
            return None, "unshare (util-linux) was not found"
        ns = [unshare, "--net"] if os.geteuid() == 0 else [unshare, "--map-root-user", "--net"]
        script = '"$1" -f "$2" && "$1" -s list table "$3" "$4"'
        args = [*ns, "--", "/bin/sh", "-c", script, "sh", self.nft, self._file(payload), family, name]
        rc, out, err = self.module.run_command(args)
        if rc != 0:
            return None, _clean(err, args[-3])
        return out, ""


def _clean(err: str, path: str = "") -> str:
    """nft's message, its positions in the transaction file given as lines of the content (the file has two lines
    before it)."""
    text = (err or "").strip() or "(no message)"
    if path:
        text = re.sub(re.escape(path) + r":(\d+):", lambda m: f"content line {int(m.group(1)) - PREAMBLE_LINES}:", text)
    return text


def text_form(content: str) -> str:
    """The fallback comparison form: the statements without comments, blank lines or indentation."""
    return "\n".join(" ".join(line.split()) for stmt in statements(content) for line in stmt.splitlines()) + "\n"


def run(module: AnsibleModule) -> dict:
    p = module.params
    family, name = p["family"], p["name"]
    check_name(family, name)
    table = f"{family} {name}"
    if p["state"] == "present":
        if p["content"] is None:
            raise ValueError("state=present needs content: the table's text")
        check_content(p["content"], family, name)
    nft = Nft(module)
    live = nft.list_table(family, name)  # 1. read
    compared_as = "namespace"
    if p["state"] == "present":
        payload = transaction(family, name, p["content"])
        nft.check(payload)  # validated against the live ruleset before anything else
        want, why = nft.canonical(payload, family, name)
        if want is None:
            compared_as = "text"
            module.warn(f"the candidate's canonical form could not be made in a throw-away network namespace ({why}); "
                        "comparing text instead, which may report a change where nothing differs")  # fmt: skip
            want = text_form(p["content"])
            result = plan(want, None if live is None else text_form(live))
            result["before"] = normalize(live)
        else:
            result = plan(want, live)
    else:
        payload = ""
        result = plan("", live, "absent")
    listing = result["after"] if result["changed"] else normalize(live)
    if result["changed"] and not module.check_mode:  # 2. apply
        if result["action"] == "delete":
            nft.delete(family, name)
        else:
            nft.apply(payload)
        after = nft.list_table(family, name)  # 3. read back
        if p["state"] == "absent" and after is not None:
            raise NftError("verify", f"table {table} is still there after it was deleted")
        if p["state"] == "present":
            if after is None or (compared_as == "namespace" and normalize(after) != result["after"]):
                raise NftError("verify", f"table {table} does not hold what was applied (did something else change "
                                         f"it at the same time?): {normalize(after)}")  # fmt: skip
            listing = normalize(after)
    return {
        "changed": result["changed"],
        "table": table,
        "existed": live is not None,
        "listing": listing,
        "compared_as": compared_as,
        "diff": {
            "before_header": f"table {table} (live)",
            "after_header": f"table {table}",
            "before": result["before"],
            "after": listing,
        },  # fmt: skip
    }


def main() -> None:
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True,
                           required_if=[("state", "present", ("content",))])  # fmt: skip
    run_and_exit(module, run, (NftError,))


if __name__ == "__main__":
    main()
