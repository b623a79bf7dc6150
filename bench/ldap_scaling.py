"""Benchmark: how ad_container's LDAP work grows with the number of domains (docs/scaling.md).

The lab has one domain per forest (Samba cannot add a child domain), so extra domains are naming-context stand-ins:
OUs ``OU=OOB Scale NC<i>,DC=lab,DC=example`` given to ad_container as the base DN of a domain entry
``nc<i>.scale.lab.example`` on the same DC. Each stand-in costs what a real domain costs ad_container (its own
session: TLS, bind, the container's search, its DACL), except that a real domain has its own DCs, so the sessions
would go to other servers (in parallel with nothing: ad_container works through the domains one after the other).

For 1, 2, 4 and 8 domain entries: a first run (creates the containers), then --runs no-op runs; prints per size the
module's own ldap_operations per domain, every ldap3 request counted on the client, and the no-op wall time
(median). Removes every object it creates. Usage: .venv/bin/python bench/ldap_scaling.py [--runs N]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "tests" / "integration"), str(ROOT / "plugins" / "modules")]

import conftest  # noqa: E402,F401  (joins plugins/module_utils to ansible.module_utils)
from labutil import ldaps  # noqa: E402
from side_by_side import Ldap3Counter  # noqa: E402
from test_ad_container_lab import SERVER, FakeModule, ad_container_defaults, args, delete_tree  # noqa: E402

import ad_container  # noqa: E402  # isort: skip

BASE = "DC=lab,DC=example"
SIZES = (1, 2, 4, 8)
PATH = ["AMT Computers Scale"]


def params(n: int) -> dict:
    """ad_container's arguments for n domain entries: lab.example and n - 1 naming-context stand-ins."""
    domains = [{"dns_name": "lab.example", "servers": [SERVER]}]
    domains += [
        {"dns_name": f"nc{i}.scale.lab.example", "base_dn": f"OU=OOB Scale NC{i},{BASE}", "servers": [SERVER]}
        for i in range(1, n)
    ]
    return dict(ad_container_defaults(), **args(PATH, domains=domains, protect_from_deletion=True))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--runs", type=int, default=5)
    opts = parser.parse_args()
    admin = ldaps()
    report = {"runs": opts.runs, "sizes": []}
    try:
        for i in range(1, max(SIZES)):
            admin.add(f"OU=OOB Scale NC{i},{BASE}", "organizationalUnit")
        for n in SIZES:
            p = params(n)
            first = ad_container.run(FakeModule(dict(p)))
            times, counts, ops = [], {}, None
            for _ in range(opts.runs):
                with Ldap3Counter() as counter:
                    t0 = time.perf_counter()
                    res = ad_container.run(FakeModule(dict(p)))
                    times.append(time.perf_counter() - t0)
                if res["changed"]:
                    raise RuntimeError(f"{n} domains: a no-op run changed something")
                counts = {k: v for k, v in next(iter(counter.counts.values())).items() if v}
                ops = [c["ldap_operations"] for c in res["containers"]]
            report["sizes"].append({
                "domains": n,
                "first_run_changed": first["changed"],
                "module_ops_per_domain": ops,
                "module_searches_total": sum(o["searches"] for o in ops),
                "module_writes_total": sum(o["writes"] for o in ops),
                "client_requests_total": counts,
                "noop_median_s": round(statistics.median(times), 3),
                "noop_median_s_per_domain": round(statistics.median(times) / n, 3),
            })  # fmt: skip
    finally:
        delete_tree(admin, f"OU={PATH[0]},{BASE}")
        for i in range(1, max(SIZES)):
            delete_tree(admin, f"OU={PATH[0]},OU=OOB Scale NC{i},{BASE}")
            admin.delete(f"OU=OOB Scale NC{i},{BASE}")
        admin.unbind()
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
