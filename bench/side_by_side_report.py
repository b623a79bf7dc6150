"""The table and docs/performance.md for bench/side_by_side.py (kept apart: text only, no I/O)."""

from __future__ import annotations

CMD = ".venv/bin/python bench/side_by_side.py"


def _goal(met) -> str:
    return "met" if met else "NOT met"


def _x(value) -> str:
    """A ratio, or n/a when the difference it divides is lost in the noise (negative)."""
    return "n/a (within the noise)" if value is None else f"{value}x"


def rows(r: dict) -> list[tuple[str, str, str, str, str]]:
    """(figure, measured, goal, met, command) for every benchmark that ran."""
    out = []
    n = r.get("runs")
    if "a" in r:
        a = r["a"]
        out.append(("a. no-op site.yml / ping floor (same hosts, task executions)",
                    f"{a['ratio']}x ({a['site_median']} s / {a['ping_median']} s, median of {n})",
                    "<= 1.3", _goal(a["goal_met"]), f"{CMD} --only a -n {n} --no-write"))  # fmt: skip
    if "b" in r:
        b = r["b"]
        worst = max(b["reported"], key=lambda x: x["searches"])
        out.append(("b. LDAP ops per domain, no-op (all LDAP modules, reported)",
                    f"{b['reported_total']['searches']} searches, {b['reported_total']['writes']} writes "
                    f"(max per module {worst['searches']}: {worst['module']})",
                    "<= 4 searches, 0 writes", f"per module {_goal(b['per_module_goal_met'])}; "
                    f"total {_goal(b['total_goal_met'])}", f"{CMD} --only b --no-write"))  # fmt: skip
    if "c" in r:
        c = r["c"]
        out.append(("c. ad_container + ad_cert_template / ldap_entry + ldap_attrs",
                    f"{c['ratio']}x ({c['ours_median']} s / {c['theirs_median']} s; above the ping floor "
                    f"{_x(c['ratio_above_floor'])})", "<= 0.5", _goal(c["goal_met"]),
                    f"{CMD} --only c -n {n} --no-write"))  # fmt: skip
    if "c_dns" in r:
        c = r["c_dns"]
        out.append(("c. dns_provision_record / nsupdate (ProvisionServer CNAME)",
                    f"{c['ratio']}x ({c['ours_median']} s / {c['theirs_median']} s; above the ping floor "
                    f"{_x(c['ratio_above_floor'])}; module alone {_x(c['ratio_module_alone'])})", "<= 0.5",
                    _goal(c["goal_met"]), f".venv/bin/python bench/dns_noop.py -n {n}"))  # fmt: skip
    if "d" in r:
        d = r["d"]
        best = d["best"]
        out.append(("d. amt_discovery / nmap, 65,534 addresses",
                    f"{d['ratio']}x ({best['wall_s']} s / {d['report']['nmap_s']} s; {best['found']} devices, "
                    f"peak RSS {best['peak_rss_mb']} MB)", "<= 0.5", _goal(d["goal_met"]),
                    ".venv/bin/python bench/amt_discovery.py"))  # fmt: skip
    if "e" in r:
        e = r["e"]
        out.append(("e. no-op make check / ansible localhost -m ping (same inventory, vault)",
                    f"{e['ratio']}x ({e['check_median']} s / {e['ping_median']} s, median of {e['runs']}; task "
                    f"executions per host {e['task_executions_per_host']})", "<= 5", _goal(e["goal_met"]),
                    f"{CMD} --only e -n {e['runs']} --no-write"))  # fmt: skip
    return out


def table(r: dict) -> str:
    lines = ["| Figure | Measured | Goal | Goal met | Reproduce |", "| --- | --- | --- | --- | --- |"]
    lines += [f"| {a} | {b} | {c} | {d} | `{e}` |" for a, b, c, d, e in rows(r)]
    for key, err in (r.get("errors") or {}).items():
        first = err.strip().splitlines()[0][:200] if err.strip() else "?"
        lines.append(f"| {key} | could not run: {first} | | | |")
    return "\n".join(lines)


def _ldap_detail(b: dict) -> str:
    lines = ["| Module | Task (site.yml) | Session | Searches | Writes |", "| --- | --- | --- | --- | --- |"]
    for x in b["reported"]:
        task = x.get("task", "").replace("|", "/")
        lines.append(f"| {x['module']} | {task} | {x['where'] or '-'} | {x['searches']} | {x['writes']} |")
    t = b["reported_total"]
    lines.append(
        f"| **total, domain lab.example (also the forest root)** | | | **{t['searches']}** | **{t['writes']}** |"
    )
    lines += ["", "Client side (every ldap3 request, per call, while the same calls run again in-process):", "",
              "| Module | DC | Requests |", "| --- | --- | --- |"]  # fmt: skip
    for x in b["client_side"]:
        ops = ", ".join(f"{k} {v}" for k, v in x.items() if k not in ("module", "dc", "seconds"))
        lines.append(f"| {x['module']} | {x['dc']} | {ops} |")
    lines.append(f"| **total** | | {', '.join(f'{k} {v}' for k, v in b['client_side_total'].items())} |")
    return "\n".join(lines)


def render(r: dict, notes: str = "") -> tuple[str, str]:
    """The table and the page; notes (docs/performance-notes.md: figures measured by hand, such as issue 22's history
    and make test) go at the end of the page, so that a bench run keeps them."""
    t = table(r)
    parts = [
        "# Performance",
        "",
        "Benchmarks measured side by side in one run against the lab (`make bench`, which runs",
        f"`{CMD}` after the older single benches). This file is written by that run; the raw figures are in",
        "[performance-results.json](performance-results.json). Scaling (many domains, environments, a /16 of AMT",
        "devices, AWX) is in [scaling.md](scaling.md).",
        "",
        f"Last run: {r.get('when')}, {r.get('machine')}; {r.get('runs')} timed runs per side (medians, warm: one",
        f"untimed run first); the whole side-by-side run took {r.get('total_seconds')} s. Load average before / after:",
        f"{r.get('load_average_before')} / {r.get('load_average_after')} (the machine is shared: other jobs running",
        "at the same time move the timed figures by a few tenths; the counts do not move).",
        "",
        t,
        "",
        "Every figure: the lab up and converged (`make lab-up && make converge`), from the project's directory,",
        "as root. `--no-write` prints the table without rewriting this file; without `--only`, all four run.",
        "",
    ]
    if "a" in r:
        a = r["a"]
        parts += [
            "## a. A no-op site.yml against Ansible's own floor",
            "",
            "The no-op `playbooks/site.yml` (verify.yml's probes included) runs once with a recording callback",
            "(`bench/callback_plugins/oob_bench_record.py`) that keeps every task result: host, delegation, loop",
            "items, skipped ones too. From that record the bench writes a playbook with the same plays (same host",
            "patterns), and per recorded task one `ansible.builtin.ping` with the same delegation (so the tasks",
            "delegated to the lab's namespaces go through the `oob_netns` connection) and the same loop length. Both",
            "run with the same inventory and vault options, alternately.",
            "",
            f"- task results per host (recap: ok + skipped): site.yml {a['task_results_per_host']}, ping playbook "
            f"{a['ping_task_results_per_host']}; module executions per host (loop items counted): "
            f"{a['task_executions_per_host']}",
            f"- site.yml: {a['site_seconds']} s; ping playbook: {a['ping_seconds']} s",
            f"- ratio of the medians: **{a['ratio']}** (goal <= 1.3: {_goal(a['goal_met'])})",
            f"- highestCommittedUSN of the forest moved by {a['usn_moved']} over the {r.get('runs', 0) + 1} no-op "
            "site.yml runs (server side: 0 means nothing at all was written to the DC)",
            "",
            "Reading it: on this 2-core machine Ansible's own cost is about half a second per task execution (the",
            "floor), and the project's work (LDAPS sessions, Kerberos for GSS-TSIG, the Kea API over HTTPS, the DHCP",
            "and flow probes from the namespaces, the AMT scan) hides inside it: the two medians differ by less than",
            "the spread between runs. A failed readiness check at the end of site.yml (listed below, if any) is a",
            "verdict about the lab, not a failed run: every task ran, and changed stayed 0.",
            "",
            *[f"- failed check: {f}" for f in a.get("failed_tasks", [])],
            "",
        ]
    if "b" in r:
        parts += [
            "## b. LDAP operations of a no-op run, per domain",
            "",
            "Every module that reports `ldap_operations`, as site.yml calls it (the arguments recorded from the",
            "no-op run of a.). The goal, <= 4 searches and 0 writes per domain, is met by each module call and not by",
            "their sum for the domain (the lab's one domain is also the forest root: it carries the forest's reads).",
            "Reported: what each module counts itself (`ldap_operations`: searches and writes, where writes are",
            "adds, modifies and deletes). Client side: `ldap3.Connection` wrapped to count every request, binds",
            "included, while the same calls run again in-process. Server side: the DC's `highestCommittedUSN` (a.)",
            "is the write count that does not trust the client. Samba has no per-request search counter short of",
            "debug logging, so searches are counted on the client.",
            "",
            _ldap_detail(r["b"]),
            "",
            "The lab has one domain, which is also the forest root: the forest-wide reads (templates, OID objects,",
            "enrollment services) fall to it. With more domains only ad_container's share grows (see scaling.md).",
            "",
        ]
    if "c" in r:
        c = r["c"]
        parts += [
            "## c. Against community.general",
            "",
            f"Same inventory host (localhost of inventories/lab), warm, {c['runs']} runs each, alternating, plus a",
            "ping-only playbook as the floor. Ours: `ad_container` and `ad_cert_template` (both templates) with the",
            f"arguments site.yml passes ({c['ours_module_executions']} module executions). Theirs, on the same "
            f"{c['objects']} objects (container, templates, their OID objects): `ldap_entry` state=present for the",
            "container, `ldap_attrs` state=present for the others with their objectClass and the same attributes",
            f"with the values in AD ({c['attributes_checked_by_cg']} attribute checks: every template attribute",
            "ad_cert_template manages except the 3 binary ones, which ldap_attrs cannot take, the OID objects'",
            "attributes, and the publication on the CA; a warm-up in check mode first proves they find nothing to do;",
            f"{c['cg_module_executions']} module executions). community.general cannot read security",
            "descriptors, so ours does more (owner, DACLs, deletion protection) and theirs checks less.",
            "All three playbooks run in a private mount namespace whose /etc/hosts names the DC (libldap checks",
            "the certificate against the URI's host name; the controller does not resolve the lab's names).",
            "",
            f"- ours {c['seconds']['ours']} s, theirs {c['seconds']['theirs']} s, ping {c['seconds']['floor']} s",
            f"- ratio ours / theirs **{c['ratio']}**, above the floor {_x(c['ratio_above_floor'])} "
            f"(goal <= 0.5: {_goal(c['goal_met'])}). Through ansible-playbook the floor (about 2 s: start-up,",
            "inventory, vault) is paid by both sides, which caps how low the wall ratio can go.",
            "",
        ]
    if "c_dns" in r:
        c = r["c_dns"]
        parts += [
            "ProvisionServer: `bench/dns_noop.py` (its docstring says how it counts packets): a CNAME on the lab's",
            "BIND server with a TSIG key, because community.general.nsupdate does not do GSS-TSIG (the lab's AD",
            "zone takes secure updates only).",
            "",
            f"- ours {c['ours_median']} s, nsupdate {c['theirs_median']} s, ping {c['floor_median']} s: ratio "
            f"**{c['ratio']}**, above the floor {_x(c['ratio_above_floor'])}, modules alone (in-process, no "
            f"ansible-playbook) {_x(c['ratio_module_alone'])}",
            f"- {c['report'].get('note', '')}",
            "",
        ]
    if "d" in r:
        d = r["d"]
        rep = d["report"]
        parts += [
            "## d. AMT discovery of a /16",
            "",
            "`bench/amt_discovery.py`: 65,534 loopback addresses with simulated AMT devices, against",
            "`nmap -sT -Pn -n -p16992,16993 -T4 --open` in the same run (it exits 1 while its goal is unmet).",
            "",
            f"- nmap {rep['nmap_s']} s ({rep['found_by_nmap']} found); best method `{rep['best']}`: "
            f"{d['best']['wall_s']} s, ratio **{d['ratio']}** (goal <= 0.5: {_goal(d['goal_met'])}), "
            f"{d['best']['found']} devices, versions read {d['best']['versions_read']}, certificates read "
            f"{d['best']['certificates_read']}, same devices as nmap {d['best']['same_devices_as_nmap']}, peak RSS "
            f"{d['best']['peak_rss_mb']} MB",
            "",
        ]
    if "e" in r:
        e = r["e"]
        before = r.get("e_before") or {}
        parts += [
            "## e. The no-op make check against Ansible's smallest run",
            "",
            f"`{e['command']}` (what an admin runs before a change: `site.yml --check --diff`, verify.yml's probes",
            f"included, after `make lab-deps`) against `{e['floor_command']}`, alternating, warm.",
            "",
            f"- make check {e['check_seconds']} s; ping {e['ping_seconds']} s",
            f"- ratio of the medians: **{e['ratio']}** (goal <= 5: {_goal(e['goal_met'])})",
            f"- task executions per host (recap: ok + skipped + failed): {e['task_executions_per_host']}",
            *(
                [
                    f"- before (issue 22's starting point, {before.get('when')}): task executions per host "
                    f"{before.get('task_executions_per_host')}, make check {before.get('check_median')} s"
                ]
                if before
                else []
            ),
            "",
        ]
    if notes.strip():
        parts += [notes.strip(), ""]
    if r.get("errors"):
        parts += ["## Could not run", ""]
        for key, err in r["errors"].items():
            parts += [f"- {key}:", "", "```", err.strip()[:1500], "```", ""]
    return t, "\n".join(parts)
