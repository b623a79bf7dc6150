"""Benchmark: LDAP operations and wall time of ad_container runs against the lab.

Goal (issue: AD container): a no-op run costs at most 2 searches and 0 writes per domain. Prints one JSON line per
scenario. Run with `make bench` (the lab must be up; make brings it up).
"""

from __future__ import annotations

import json
import statistics
import sys
import time
import uuid
from pathlib import Path

from ldap3 import MODIFY_DELETE

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "tests" / "integration"), str(ROOT / "plugins" / "modules")]

import conftest  # noqa: E402,F401  (joins plugins/module_utils to ansible.module_utils)
from labutil import ldaps  # noqa: E402
from test_ad_container_lab import BASE, FakeModule, ad_container_defaults, args, delete_tree  # noqa: E402

import ad_cert_template  # noqa: E402  # isort: skip
import ad_container  # noqa: E402  # isort: skip
from test_pki_lab import template_args  # noqa: E402  # isort: skip


PKS = "CN=Public Key Services,CN=Services,CN=Configuration,DC=lab,DC=example"


def run(path, **extra):
    params = dict(ad_container_defaults(), **args(path, **extra))
    t0 = time.perf_counter()
    result = ad_container.run(FakeModule(params, check_mode=extra.get("check", False)))
    return result, time.perf_counter() - t0


def template_noop_ops() -> dict:
    """LDAP operations of a no-op ad_cert_template run (the template is created first, then removed)."""
    name = f"AMTBench{uuid.uuid4().hex[:8]}"
    spec = ad_cert_template.argument_spec()
    params = dict({k: v.get("default") for k, v in spec.items()}, **template_args(name))
    admin = ldaps()
    created = {}
    try:
        created = ad_cert_template.run(FakeModule(dict(params)))
        return ad_cert_template.run(FakeModule(dict(params)))["ldap_operations"]
    finally:  # leave nothing behind: the publication, the template and its msPKI-Enterprise-Oid object
        admin.modify(f"CN=LAB-CA,CN=Enrollment Services,{PKS}", {"certificateTemplates": [(MODIFY_DELETE, [name])]})
        admin.delete(f"CN={name},CN=Certificate Templates,{PKS}")
        if created.get("oid_object_created"):
            admin.delete(created["oid_object_created"])
        admin.unbind()


def pki_objects() -> int:
    """How many objects the forest's Public Key Services hold (a bench must leave the same number)."""
    admin = ldaps()
    try:
        admin.search(PKS, "(objectClass=*)", attributes=["cn"])
        return len([e for e in admin.response if e.get("type") == "searchResEntry"])
    finally:
        admin.unbind()


def main() -> int:
    name = f"AMT Bench {uuid.uuid4().hex[:8]}"
    admin = ldaps()
    objects_before = pki_objects()
    try:
        first, t_first = run([name], protect_from_deletion=True)
        noop = [run([name], protect_from_deletion=True) for _ in range(10)]
        ops = noop[-1][0]["containers"][0]["ldap_operations"]
        report = {
            "converge_first": {"ops": first["containers"][0]["ldap_operations"], "seconds": round(t_first, 3)},
            "noop": {
                "ops_per_domain": ops,
                "median_seconds": round(statistics.median(t for _, t in noop), 4),
                "changed": any(r["changed"] for r, _ in noop),
            },
        }
        tpl_ops = template_noop_ops()
        report["cert_template_noop"] = tpl_ops
        noop_goal = {"searches": 2, "writes": 0}
        report["goal_met"] = ops["searches"] <= 2 and ops["writes"] == 0 and tpl_ops == noop_goal
        report["pki_objects_left_behind"] = pki_objects() - objects_before
        print(json.dumps(report, indent=2))
        clean = report["pki_objects_left_behind"] == 0
        return 0 if report["goal_met"] and clean and not report["noop"]["changed"] else 1
    finally:
        delete_tree(admin, f"OU={name},{BASE}")
        admin.unbind()


if __name__ == "__main__":
    sys.exit(main())
