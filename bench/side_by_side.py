"""Benchmarks measured side by side in one run against the lab; writes docs/performance.md.

  a. a no-op playbooks/site.yml / a generated play with the same hosts and the same task executions of
     ansible.builtin.ping (same inventory, same connection plugins, same delegations and loops). Goal <= 1.3.
  b. LDAP operations per domain of a no-op run of everything LDAP, as site.yml calls it: what each module reports
     (ldap_operations, recorded from the no-op site.yml run of a.), and a client-side count of every ldap3 request
     (binds and extended operations included) made while the same calls run again in-process; the forest's
     highestCommittedUSN before and after the no-op site.yml runs (server side: any write moves it).
     Goal <= 4 searches and 0 writes per domain.
  c. the project's LDAP modules / community.general.ldap_entry + ldap_attrs doing the same checks (same objects,
     same attributes), and dns_provision_record / community.general.nsupdate (bench/dns_noop.py). Goal <= 0.5.
  d. bench/amt_discovery.py (65,534 loopback addresses, simulated devices) against nmap. Goal <= 0.5 x nmap.
  e. the no-op `make check` (site.yml --check --diff, as an admin runs it before a change) / `ansible localhost -m
     ping` with the same inventory and vault options, alternating; the task executions per host. Goal <= 5.

Usage: .venv/bin/python bench/side_by_side.py [--runs N] [--only a,b,c,d,e] [--no-write]
The lab must be up and converged (make bench brings it up). Exit status 0 when every goal is met, 1 otherwise,
2 when a benchmark could not run.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "tests" / "integration"), str(ROOT / "plugins" / "modules")]

BIN = ROOT / ".venv" / "bin"
LAB_INV = ["-i", "inventories/lab", "--vault-id", "lab@inventories/lab/vault-password.txt"]
RECORDER = ROOT / "bench" / "callback_plugins"
DOC = ROOT / "docs" / "performance.md"
RESULTS = ROOT / "docs" / "performance-results.json"
PARTIAL = ROOT / ".cache" / "side_by_side-partial.json"
LDAP_MODULES = ("ad_container", "ad_cert_template", "ad_pki_info", "dns_provision_info")
NO_LOG = "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"
PKS = "CN=Public Key Services,CN=Services,CN=Configuration,DC=lab,DC=example"


class BenchError(Exception):
    pass


def env(**extra) -> dict:
    base = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_HOME=str(ROOT / ".cache" / "ansible"),
                ANSIBLE_NOCOLOR="1", PATH=f"{BIN}:{os.environ.get('PATH', '')}")  # fmt: skip
    base.update(extra)
    return base


def playbook(
    args: list[str], record: Path | None = None, wrap: list[str] | None = None, allow_failed: bool = False
) -> tuple[float, str]:
    """One ansible-playbook run from the project's directory; returns (seconds, output). Raises on failure (with
    allow_failed, a run whose failures are failed tasks, rc 2, is returned: a verdict, not a broken run)."""
    extra = {}
    if record:
        extra = {"ANSIBLE_CALLBACK_PLUGINS": str(RECORDER), "ANSIBLE_CALLBACKS_ENABLED": "oob_bench_record",
                 "OOB_BENCH_RECORD": str(record)}  # fmt: skip
    command = [*(wrap or []), str(BIN / "ansible-playbook"), *args]
    t0 = time.perf_counter()
    proc = subprocess.run(command, cwd=ROOT, env=env(**extra), capture_output=True, text=True, timeout=900)
    seconds = time.perf_counter() - t0
    if proc.returncode != 0 and not (allow_failed and proc.returncode == 2 and "PLAY RECAP" in proc.stdout):
        raise BenchError(f"{' '.join(args)}: rc {proc.returncode}\n{proc.stdout[-3000:]}\n{proc.stderr[-2000:]}")
    return seconds, proc.stdout


def recap(output: str) -> dict[str, dict[str, int]]:
    hosts = {}
    for line in output[output.rfind("PLAY RECAP") :].splitlines()[1:]:
        if ":" in line and "ok=" in line:
            host, counts = line.split(":", 1)
            hosts[host.strip()] = {k: int(v) for k, v in (f.split("=") for f in counts.split())}
    return hosts


def med(values: list[float]) -> float:
    return round(statistics.median(values), 3)


def ratio(a: float, b: float) -> float | None:
    """a / b; None when b is not positive, or a is negative (a difference lost in the noise)."""
    return round(a / b, 3) if b > 0 and a >= 0 else None


# a. site.yml against its ping floor ------------------------------------------------------------------------------
def ping_playbook(record: dict) -> tuple[list, dict]:
    """A playbook with, per play of the no-op run, the same host pattern and one ping per task result: the same
    delegation (so oob_netns hosts run it through oob_netns) and the same number of loop items."""
    plays, per_host = [], {}
    for i, play in enumerate(record["plays"]):
        tasks, order = [], []
        by_task: dict[str, list] = {}
        for res in play["results"]:
            key = res["uuid"]
            if key not in by_task:
                order.append(key)
                by_task[key] = []
            by_task[key].append(res)
        for j, key in enumerate(order):
            results = by_task[key]
            targets = {}
            looped = any(r["items"] is not None for r in results)
            for r in results:
                per_host[r["host"]] = per_host.get(r["host"], 0) + (len(r["items"]) if r["items"] else 1)
                if looped:
                    targets[r["host"]] = [
                        (it["delegated_to"] or {}).get("host") or r["host"] for it in r["items"] or []
                    ]
                else:
                    targets[r["host"]] = (r["delegated_to"] or {}).get("host")
            task = {"name": f"ping {i}.{j} ({results[0]['task'][:60]})", "ansible.builtin.ping": {}}
            if looped:
                task["loop"] = "{{ _targets[inventory_hostname] }}"
                task["delegate_to"] = "{{ item }}"
                task["vars"] = {"_targets": targets}
            elif any(targets.values()):
                if len(set(targets.values())) == 1:
                    task["delegate_to"] = next(iter(targets.values()))
                else:
                    task["delegate_to"] = "{{ _targets[inventory_hostname] or inventory_hostname }}"
                    task["vars"] = {"_targets": targets}
            tasks.append(task)
        plays.append({"name": f"floor {i}: {play['name'][:60]}", "hosts": ":".join(play["hosts"]),
                      "gather_facts": False, "tasks": tasks})  # fmt: skip
    return plays, per_host


def usn() -> int:
    from labutil import ldaps

    conn = ldaps()
    try:
        conn.search("", "(objectClass=*)", search_scope="BASE", attributes=["highestCommittedUSN"])
        return int(conn.response[0]["raw_attributes"]["highestCommittedUSN"][0])
    finally:
        conn.unbind()


def bench_site(runs: int, work: Path) -> dict:
    usn_before = usn()
    rec = record_only(work)  # warm-up, and the counts
    failed = [f"{r['host']}: {r['task']}: {r.get('msg', '')}" for p in rec["plays"] for r in p["results"]
              if r["status"] == "failed"]  # fmt: skip
    plays, per_host = ping_playbook(rec)
    ping_path = work / "ping-floor.yml"
    ping_path.write_text(yaml.safe_dump(plays, sort_keys=False, width=120))
    _s, ping_out = playbook([*LAB_INV, str(ping_path)], allow_failed=True)
    ping_counts = {h: c["ok"] + c["skipped"] for h, c in recap(ping_out).items()}
    site_counts = {h: c["ok"] + c["skipped"] + c["failures"] for h, c in rec["stats"].items()}
    site_t, ping_t = [], []
    for _ in range(runs):  # alternate, so that drift in the machine's load hits both alike
        s, out = playbook([*LAB_INV, "playbooks/site.yml"], allow_failed=True)
        if any(c.get("changed") or c.get("unreachable") for c in recap(out).values()):
            raise BenchError(f"a timed site.yml run was not a no-op: {recap(out)}")
        site_t.append(s)
        s, _out = playbook([*LAB_INV, str(ping_path)])
        ping_t.append(s)
    usn_after = usn()
    return {
        "record": rec,
        "ping_playbook": plays,
        "task_results_per_host": site_counts,
        "failed_tasks": failed,
        "task_executions_per_host": per_host,
        "ping_task_results_per_host": ping_counts,
        "site_seconds": [round(s, 3) for s in site_t],
        "ping_seconds": [round(s, 3) for s in ping_t],
        "site_median": med(site_t),
        "ping_median": med(ping_t),
        "ratio": ratio(med(site_t), med(ping_t)),
        "goal": 1.3,
        "goal_met": med(site_t) / med(ping_t) <= 1.3,
        "usn_moved": usn_after - usn_before,
        "runs": runs,
    }


# e. make check against ping -----------------------------------------------------------------------------------------
MAKE_CHECK = ["make", "--no-print-directory", "check", "ENV=lab"]
PING = [str(BIN / "ansible"), "localhost", *LAB_INV, "-m", "ansible.builtin.ping"]


def timed(cmd: list[str]) -> tuple[float, str]:
    """(seconds, output) of one command from the project's directory; raises BenchError when it fails."""
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, env=env(), capture_output=True, text=True, timeout=1800)
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        raise BenchError(f"{' '.join(cmd)}: rc {proc.returncode}: {proc.stdout[-1500:]} {proc.stderr[-1500:]}")
    return seconds, proc.stdout


def bench_make_check(runs: int) -> dict:
    """The no-op make check (what an admin runs before each change) against Ansible's smallest run with the same
    inventory and vault options, alternating; the task executions per host come from make check's recap."""
    _s, out = timed(MAKE_CHECK)  # warm-up (and the counts)
    counts = recap(out)
    if any(c.get("changed") or c.get("failed") or c.get("unreachable") for c in counts.values()):
        raise BenchError(f"make check is not a no-op here (converge first): {counts}")
    timed(PING)
    check_t, ping_t = [], []
    for _ in range(runs):
        check_t.append(timed(MAKE_CHECK)[0])
        ping_t.append(timed(PING)[0])
    return {
        "command": " ".join(MAKE_CHECK),
        "floor_command": " ".join(PING).replace(str(BIN) + "/", ".venv/bin/"),
        "task_executions_per_host": {h: c["ok"] + c["skipped"] + c["failed"] for h, c in counts.items()},
        "check_seconds": [round(s, 3) for s in check_t],
        "ping_seconds": [round(s, 3) for s in ping_t],
        "check_median": med(check_t),
        "ping_median": med(ping_t),
        "ratio": ratio(med(check_t), med(ping_t)),
        "goal": 5,
        "goal_met": med(check_t) / med(ping_t) <= 5,
        "runs": runs,
    }


# b. LDAP operations ----------------------------------------------------------------------------------------------
def lab_password(key: str) -> str | None:
    from labutil import labconfig

    return {"bind_password": labconfig.ADMIN_PASSWORD}.get(key)


def unmask(args: dict) -> dict:
    out = {}
    for key, given in args.items():
        if given == NO_LOG:
            out[key] = lab_password(key)
        elif isinstance(given, dict):
            out[key] = unmask(given)
        else:
            out[key] = given
    return out


class Ldap3Counter:
    """Counts every ldap3 request per DC (host) by wrapping ldap3.Connection: a client-side count that does not rely
    on the modules' own counters (binds, StartTLS and extended operations included)."""

    OPS = ("search", "add", "modify", "delete", "modify_dn", "bind", "extended", "start_tls", "compare")

    def __init__(self):
        import ldap3

        self.ldap3 = ldap3
        self.counts: dict[str, dict[str, int]] = {}
        self.saved = {}

    def __enter__(self):
        for name in self.OPS:
            orig = getattr(self.ldap3.Connection, name)
            self.saved[name] = orig

            def wrapped(conn, *a, _orig=orig, _name=name, **kw):
                host = f"{conn.server.host}"
                bucket = self.counts.setdefault(host, dict.fromkeys(self.OPS, 0))
                bucket[_name] += 1
                return _orig(conn, *a, **kw)

            setattr(self.ldap3.Connection, name, wrapped)
        return self

    def __exit__(self, *exc):
        for name, orig in self.saved.items():
            setattr(self.ldap3.Connection, name, orig)


def ldap_calls(rec: dict) -> list[tuple[str, dict, bool]]:
    """(module, arguments, check_mode) of every LDAP module call of the recorded run, in order."""
    calls = []
    for play in rec["plays"]:
        for res in play["results"]:
            if res.get("module_args") is not None and res.get("ldap_operations") and not res.get("item_calls"):
                calls.append((res["action"].rsplit(".", 1)[-1], unmask(res["module_args"]), False))
            for item in [i for i in res.get("item_calls") or [] if i]:
                calls.append((res["action"].rsplit(".", 1)[-1], unmask(item), False))
    return calls


def bench_ldap(rec: dict) -> dict:
    import conftest  # noqa: F401  (joins plugins/module_utils to ansible.module_utils)
    from test_ad_container_lab import FakeModule

    reported = []
    for play in rec["plays"]:
        for res in play["results"]:
            short = res["action"].rsplit(".", 1)[-1]
            for found in res.get("ldap_operations") or []:
                ops = found["ops"]
                # one dict per module call, or (ad_forest_info) one per DC session: {session: {searches, writes}}
                per = {"": ops} if "searches" in ops else ops
                for session, counts in per.items():
                    where = f"{found['where']} {session}".strip()
                    row = {"module": short, "task": res["task"], "where": where}
                    reported.append(dict(row, searches=counts.get("searches", 0), writes=counts.get("writes", 0)))
    client = []
    for module_name, args, check in ldap_calls(rec):
        module = __import__(module_name)
        with Ldap3Counter() as counter:
            t0 = time.perf_counter()
            try:
                result = module.run(FakeModule(dict(args), check_mode=check))
            except Exception as exc:  # a module that does not run this way is reported, not fatal
                client.append({"module": module_name, "dc": "-", "error": f"{type(exc).__name__}: {exc}"[:300]})
                continue
            seconds = time.perf_counter() - t0
        if result.get("changed"):
            raise BenchError(f"{module_name} in-process changed something: it is not a no-op")
        for host, counts in counter.counts.items():
            client.append({"module": module_name, "dc": host, "seconds": round(seconds, 3),
                           **{k: v for k, v in counts.items() if v}})  # fmt: skip
    totals = {"searches": sum(r["searches"] for r in reported), "writes": sum(r["writes"] for r in reported)}
    wire = {}
    for row in client:
        for k, v in row.items():
            if k not in ("module", "dc", "seconds", "error"):
                wire[k] = wire.get(k, 0) + v
    return {
        "domains": 1,
        "reported": reported,
        "reported_total": totals,
        "client_side": client,
        "client_side_total": wire,
        "per_module_goal_met": all(r["searches"] <= 4 and r["writes"] == 0 for r in reported),
        "total_goal_met": totals["searches"] <= 4 and totals["writes"] == 0,
    }


# c. ours / community.general --------------------------------------------------------------------------------------
def ldap_module_args(rec: dict) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = {}
    for play in rec["plays"]:
        for res in play["results"]:
            short = res["action"].rsplit(".", 1)[-1]
            if short in ("ad_container", "ad_cert_template"):
                for args in ([res["module_args"]] if res.get("module_args") else []) + (res.get("item_calls") or []):
                    found.setdefault(short, []).append(args)
    return found


def play_args(args: dict) -> dict:
    """Recorded arguments for a task: without defaults left at None, the vaulted password from the vault."""
    out = {}
    for key, value in args.items():
        if value is None:
            continue
        out[key] = "{{ vault_oob_ldap_bind_password }}" if value == NO_LOG else value
    return out


def bench_vs_cg(rec: dict, runs: int, work: Path) -> dict:
    import conftest  # noqa: F401
    from ansible_collections.oob.prep.plugins.module_utils.pki.template import ATTRIBUTES, BINARY_ATTRIBUTES
    from labutil import ldaps

    calls = ldap_module_args(rec)
    container_args = calls["ad_container"][0]
    template_args = calls["ad_cert_template"]
    admin = ldaps()
    entries, attrs = [], []
    try:
        base = "DC=lab,DC=example"
        path = list(container_args["path"])
        rdn = "OU" if container_args.get("object_class", "organizationalUnit") == "organizationalUnit" else "CN"
        container_dn = ",".join(f"{rdn}={p}" for p in reversed(path)) + f",{base}"
        entries.append(
            {"dn": container_dn, "objectClass": [container_args.get("object_class") or "organizationalUnit"]}
        )
        names = []
        for targs in template_args:
            name = targs["name"]
            names.append(name)
            dn = f"CN={name},CN=Certificate Templates,{PKS}"
            admin.search(dn, "(objectClass=*)", search_scope="BASE", attributes=list(ATTRIBUTES))
            entry = admin.response[0]["raw_attributes"]
            values = {a: [v.decode() for v in entry[a]] for a in ATTRIBUTES
                      if a.lower() not in BINARY_ATTRIBUTES and entry.get(a)}  # fmt: skip
            entries.append({"dn": dn, "objectClass": ["pKICertificateTemplate"]})
            attrs.append({"dn": dn, "attributes": values})
            oid = values["msPKI-Cert-Template-OID"][0]
            admin.search(f"CN=OID,{PKS}", f"(msPKI-Cert-Template-OID={oid})", attributes=["displayName", "flags"])
            oid_entry = admin.response[0]
            entries.append({"dn": oid_entry["dn"], "objectClass": ["msPKI-Enterprise-Oid"]})
            raw = oid_entry["raw_attributes"]
            oid_values = {a: [v.decode() for v in raw[a]] for a in ("displayName", "flags") if raw.get(a)}
            attrs.append({"dn": oid_entry["dn"], "attributes": {"msPKI-Cert-Template-OID": [oid], **oid_values}})
        ca = template_args[0].get("publish_on") or ["LAB-CA"]
        for ca_name in ca if isinstance(ca, list) else [ca]:
            attrs.append(
                {"dn": f"CN={ca_name},CN=Enrollment Services,{PKS}", "attributes": {"certificateTemplates": names}}
            )
    finally:
        admin.unbind()

    from labutil import labconfig

    dc = container_args["domains"][0]["servers"][0]
    dc_host = dc["host"] if isinstance(dc, dict) else str(dc).split(":")[0]
    dc_addr = dc.get("address") if isinstance(dc, dict) else None
    conn = {"server_uri": f"ldaps://{dc_host}:636", "bind_dn": container_args.get("bind_user"),
            "bind_pw": "{{ vault_oob_ldap_bind_password }}", "validate_certs": True,
            "ca_path": container_args.get("ca_file")}  # fmt: skip
    play = {"hosts": "localhost", "gather_facts": False}
    ours_tasks = [{"name": "ad_container (no-op)", "oob.prep.ad_container": play_args(container_args)}]
    for i, targs in enumerate(template_args):
        ours_tasks.append({"name": f"ad_cert_template {i} (no-op)", "oob.prep.ad_cert_template": play_args(targs)})
    # The fewest community.general executions for the same checks: ldap_entry for the container (no attributes to
    # compare), ldap_attrs for every other object, its objectClass compared with its attributes.
    classes = {e["dn"]: e["objectClass"] for e in entries}
    for item in attrs:
        if item["dn"] in classes:
            item["attributes"] = {"objectClass": classes.pop(item["dn"]), **item["attributes"]}
    only_entries = [{"dn": dn, "objectClass": oc} for dn, oc in classes.items()]
    theirs_tasks = [
        {"name": "ldap_entry (no-op)", "community.general.ldap_entry": dict(conn, dn="{{ item.dn }}",
         objectClass="{{ item.objectClass }}", state="present"), "loop": only_entries},
        {"name": "ldap_attrs (no-op)", "community.general.ldap_attrs": dict(conn, dn="{{ item.dn }}",
         attributes="{{ item.attributes }}", state="present"), "loop": attrs},
    ]  # fmt: skip
    books = {}
    for tool, tasks in (("ours", ours_tasks), ("theirs", theirs_tasks),
                        ("floor", [{"name": "ping", "ansible.builtin.ping": {}}])):  # fmt: skip
        books[tool] = work / f"cg-{tool}.yml"
        books[tool].write_text(yaml.safe_dump([dict(play, name=f"bench {tool}", tasks=tasks)], sort_keys=False))
    # community.general's LDAP modules connect by name (libldap checks the certificate against the URI's host);
    # the controller does not resolve the lab's names, so every tool runs in a private mount namespace whose
    # /etc/hosts names the DC (the machine's /etc is untouched): the same wrapper for all three, for fairness.
    hosts = work / "hosts"
    hosts.write_text(f"127.0.0.1 localhost\n{dc_addr or labconfig.DC['ip']} {dc_host}\n")
    wrap = ["unshare", "-m", "sh", "-c", f'mount --bind {hosts} /etc/hosts && exec "$@"', "sh"]
    times: dict[str, list[float]] = {t: [] for t in books}
    for tool, path in books.items():  # warm-up, in check mode: ldap_attrs would write a value it finds missing
        _s, out = playbook([*LAB_INV, "--check", str(path)], wrap=wrap)
        if any(c.get("changed") for c in recap(out).values()):
            raise BenchError(f"{tool}: a check run reports changes, so the checks are not the same:\n{out[-3000:]}")
    for _ in range(runs):
        for tool, path in books.items():
            s, out = playbook([*LAB_INV, "-v", str(path)], wrap=wrap)
            if any(c.get("changed") for c in recap(out).values()):
                raise BenchError(f"{tool}: a no-op run changed something:\n{out[-2000:]}")
            times[tool].append(s)
    ours, theirs, floor = med(times["ours"]), med(times["theirs"]), med(times["floor"])
    return {
        "objects": len(entries),
        "attributes_checked_by_cg": sum(len(a["attributes"]) for a in attrs),
        "cg_module_executions": len(only_entries) + len(attrs),
        "ours_module_executions": len(ours_tasks),
        "playbooks": {t: yaml.safe_load(p.read_text()) for t, p in books.items()},
        "seconds": {t: [round(s, 3) for s in v] for t, v in times.items()},
        "ours_median": ours,
        "theirs_median": theirs,
        "floor_median": floor,
        "ratio": ratio(ours, theirs),
        "ratio_above_floor": ratio(ours - floor, theirs - floor),
        "goal": 0.5,
        "goal_met": ours / theirs <= 0.5,
        "runs": runs,
    }


def bench_nsupdate(runs: int) -> dict:
    proc = subprocess.run([str(BIN / "python"), "bench/dns_noop.py", "-n", str(runs)], cwd=ROOT, env=env(),
                          capture_output=True, text=True, timeout=1800)  # fmt: skip
    try:
        report = json.loads(proc.stdout[proc.stdout.index("{") :])
    except ValueError:
        raise BenchError(f"dns_noop.py: rc {proc.returncode}: {proc.stdout[-1500:]} {proc.stderr[-1500:]}") from None
    if proc.returncode != 0 or "ansible_playbook" not in report:
        raise BenchError(f"dns_noop.py: rc {proc.returncode}: {json.dumps(report)[:1500]}")
    pb, alone = report["ansible_playbook"], report["module_alone"]
    ours, theirs = "dns_provision_record", "community.general.nsupdate"
    floor = pb["baseline (ansible.builtin.ping)"]["median_seconds"]
    o, t = pb[ours]["median_seconds"], pb[theirs]["median_seconds"]
    return {
        "report": report,
        "ours_median": o,
        "theirs_median": t,
        "floor_median": floor,
        "ratio": ratio(o, t),
        "ratio_above_floor": ratio(o - floor, t - floor),
        "ratio_module_alone": ratio(alone[ours]["median_seconds"], alone[theirs]["median_seconds"]),
        "goal": 0.5,
        "goal_met": o / t <= 0.5,
        "runs": runs,
    }


# d. AMT discovery ------------------------------------------------------------------------------------------------
def bench_amt() -> dict:
    t0 = time.perf_counter()
    proc = subprocess.run([str(BIN / "python"), "bench/amt_discovery.py"], cwd=ROOT, env=env(),
                          capture_output=True, text=True, timeout=1800)  # fmt: skip
    seconds = time.perf_counter() - t0
    try:
        report = json.loads(proc.stdout[proc.stdout.index("{") :])["amt_discovery"]
    except (ValueError, KeyError):
        raise BenchError(
            f"amt_discovery.py: rc {proc.returncode}: {proc.stdout[-800:]} {proc.stderr[-1500:]}"
        ) from None
    if "best" not in report:
        raise BenchError(f"amt_discovery.py: rc {proc.returncode}: {json.dumps(report)[:1500]}")
    best = report[f"discovery_{report['best']}"]
    return {
        "report": report,
        "best": best,
        "ratio": best["ratio_to_nmap"],
        "goal": 0.5,
        "goal_met": bool(report.get("goal_met")),
        "seconds": round(seconds, 1),
        "exit_status": proc.returncode,
    }


# the report ------------------------------------------------------------------------------------------------------
from side_by_side_report import render  # noqa: E402  (the markdown and the table)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--runs", type=int, default=5, help="timed runs of each side (default 5); medians")
    parser.add_argument("--only", default="a,b,c,d,e", help="which benchmarks (default a,b,c,d,e)")
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/performance.md as it is")
    opts = parser.parse_args()
    if os.geteuid() != 0:
        print("side_by_side: needs root (the lab's namespaces)", file=sys.stderr)
        return 2
    only = set(opts.only.split(","))
    started = time.perf_counter()
    load_before = [round(x, 2) for x in os.getloadavg()]
    machine = f"{platform.system()} {platform.release()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    results: dict = {
        "when": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine,
        "runs": opts.runs,
        "load_average_before": load_before,
    }
    errors = {}
    with tempfile.TemporaryDirectory(prefix="side-by-side-") as tmp:
        work = Path(tmp)
        rec = None
        steps = [
            ("a", lambda: bench_site(opts.runs, work)),
            ("b", lambda: bench_ldap(rec)),
            ("c", lambda: bench_vs_cg(rec, opts.runs, work)),
            ("c_dns", lambda: bench_nsupdate(opts.runs)),
            ("d", bench_amt),
            ("e", lambda: bench_make_check(opts.runs)),
        ]
        for key, step in steps:
            if key[0] not in only:
                continue
            if key in ("b", "c") and rec is None:
                try:
                    rec = results["a"]["record"] if "a" in results else record_only(work)
                except BenchError as exc:
                    errors[key] = str(exc)
                    continue
            print(f"side_by_side: {key} ...", file=sys.stderr, flush=True)
            t0 = time.perf_counter()
            try:
                results[key] = step()
                results[key]["bench_seconds"] = round(time.perf_counter() - t0, 1)
                PARTIAL.parent.mkdir(exist_ok=True)
                PARTIAL.write_text(json.dumps(results, default=str))  # what ran so far, should a later step crash
            except Exception as exc:  # one benchmark's failure is reported; the others still run
                errors[key] = str(exc) if isinstance(exc, BenchError) else traceback.format_exc()
                print(f"side_by_side: {key} failed: {errors[key]}", file=sys.stderr)
    results["errors"] = errors
    results["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    results["total_seconds"] = round(time.perf_counter() - started, 1)
    notes = ROOT / "docs" / "performance-notes.md"  # measured by hand: kept at the end of the page
    table, doc = render(results, notes.read_text() if notes.is_file() else "")
    print(table)
    if not opts.no_write and only >= {"a", "b", "c", "d", "e"}:
        slim = {k: v for k, v in results.items()}
        if "a" in slim:
            slim["a"] = {k: v for k, v in slim["a"].items() if k != "record"}
        RESULTS.write_text(json.dumps(slim, indent=1, default=str) + "\n")
        DOC.write_text(doc)
        print(f"side_by_side: wrote {DOC.relative_to(ROOT)} and {RESULTS.relative_to(ROOT)}", file=sys.stderr)
    if errors:
        return 2
    goals = [results[k]["goal_met"] for k in ("a", "c", "c_dns", "d", "e") if k in results]
    if "b" in results:
        goals.append(results["b"]["total_goal_met"])
    return 0 if all(goals) else 1


def record_only(work: Path) -> dict:
    """One site.yml run with the recording callback; it must be a no-op (failed checks are allowed, and kept)."""
    path = work / "site-record.json"
    playbook([*LAB_INV, "playbooks/site.yml"], record=path, allow_failed=True)
    rec = json.loads(path.read_text())
    for host, counts in rec["stats"].items():
        if counts["changed"] or counts["unreachable"]:
            raise BenchError(f"site.yml is not a no-op on the lab (converge it first): {host} {counts}")
    return rec


if __name__ == "__main__":
    sys.exit(main())
