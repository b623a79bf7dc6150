# Copyright: oob-prep contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""DNS for out of band management, the reading side: what the authoritative servers of the AMT zones answer.

``Dns`` holds the DNS servers of one read-only run: the start server, then the name servers of each zone found from
it. Every query goes through an ``rfc2136.Rfc2136`` adapter with RD off (an authoritative answer, never a
resolver's), once per (server, name, type): the same adapter ``dns_provision_record`` reads and writes with. It finds
the zone of a name (``find_zone``), a zone's name servers (``servers_of``) and follows a name through CNAMEs to its A
records on one server (``follow``). ``records`` and ``describe`` read a response for the check rows (``checks``).
"""

from __future__ import annotations

from ansible_collections.oob.prep.plugins.module_utils.dns.plan import DnsError, rrsets_from_answer
from ansible_collections.oob.prep.plugins.module_utils.dns.rfc2136 import Rfc2136

MAX_CNAMES = 8


def _within(name: str, zone: str) -> bool:
    name, zone = name.rstrip(".").lower(), zone.rstrip(".").lower()
    return not zone or name == zone or name.endswith(f".{zone}")


def records(response: dict, section: str, rdtype: str) -> list[tuple[str, list[str]]]:
    return [(owner.rstrip(".").lower(), values) for owner, t, _ttl, values in response[section] if t == rdtype]


def _absence(response: dict) -> str:
    """Why a response holds no record for the name asked: 'missing' when the server answered with authority for its
    zone (NXDOMAIN or no data, with the zone's SOA), 'not_authoritative' when it does not hold the zone (REFUSED, a
    referral, or Samba's NXDOMAIN without a SOA)."""
    if response["rcode"] in ("NOERROR", "NXDOMAIN") and records(response, "authority", "SOA"):
        return "missing"
    return "not_authoritative"


def describe(response: dict) -> str:
    soa = records(response, "authority", "SOA")
    if soa:
        return f"{response['rcode']} (authoritative for {soa[0][0]})"
    if response["rcode"] == "REFUSED":
        return "REFUSED (it holds no zone for the name)"
    return f"{response['rcode']} without a SOA (it holds no zone for the name)"


class Dns:
    """The DNS servers of one run: O(server), then the name servers of each zone found from it. Every query goes
    through an Rfc2136 adapter (RD off: an authoritative answer, never a resolver's), once per (server, name, type)."""

    def __init__(self, server: dict, timeout: float):
        self.timeout = timeout
        self.adapters: dict = {}
        self.start = self.adapter(server)
        self.cache: dict = {}
        self.zones: dict = {}  # zone -> [{'host', 'address', 'why'}]
        self.zone_of: dict = {}  # name -> (zone or None, how or why)

    def adapter(self, spec: dict):
        key = (spec.get("address") or spec["host"], spec.get("port") or 53)
        if key not in self.adapters:
            self.adapters[key] = Rfc2136(spec, "none", self.timeout)
        return self.adapters[key]

    @property
    def queries(self) -> int:
        return sum(adapter.ops["queries"] for adapter in self.adapters.values())

    def ask(self, adapter, name: str, rdtype: str) -> dict:
        """One query, cached with its failure (a server that timed out is not asked the same again)."""
        key = (adapter.address, adapter.port, name.lower(), rdtype)
        if key not in self.cache:
            try:
                self.cache[key] = adapter.query(name, rdtype)
            except DnsError as exc:
                self.cache[key] = exc
        result = self.cache[key]
        if isinstance(result, DnsError):
            raise result
        return result

    # the start server: zones and their name servers (its failures end the run: it is the module's input) ----------
    def find_zone(self, name: str) -> tuple[str | None, str]:
        """(zone, how it was found) or (None, why not), from the SOA the start server returns for ``name``."""
        if name in self.zone_of:
            return self.zone_of[name]
        where = self.start.where
        response = self.ask(self.start, name, "SOA")
        soa = [owner for owner, _v in records(response, "answer", "SOA") + records(response, "authority", "SOA")
               if _within(name, owner)]  # fmt: skip
        referral = [(owner, values) for owner, values in records(response, "authority", "NS") if _within(name, owner)]
        if soa:
            found = (soa[0], f"SOA of {soa[0]} from {where}")
        elif referral:
            owner, values = referral[0]
            servers = ", ".join(sorted(v.rstrip(".").lower() for v in values))
            found = (None, f"{where} is not authoritative for {name}: it refers {owner or '.'} to {servers} "
                           "(a delegation, not followed)")  # fmt: skip
        elif response["rcode"] == "REFUSED":
            found = (None, f"{where} refused the SOA query for {name} (REFUSED): it holds no zone for it")
        else:
            found = (None, f"{where} holds no zone for {name} (it answered {response['rcode']} without a SOA)")
        self.zone_of[name] = found
        return found

    def servers_of(self, zone: str) -> list[dict]:
        """The zone's name servers with their addresses, from the start server; 'why' says why one has none."""
        if zone in self.zones:
            return self.zones[zone]
        where = self.start.where
        response = self.ask(self.start, zone, "NS")
        names = sorted({v.rstrip(".").lower() for owner, values in records(response, "answer", "NS")
                        if owner == zone for v in values})  # fmt: skip
        servers = []
        for host in names:
            answer = self.ask(self.start, host, "A")
            addresses = rrsets_from_answer(host, answer["answer"]).get("A", {}).get("values", [])
            if addresses:
                servers.append({"host": host, "address": addresses[0], "why": f"A {', '.join(addresses)} on {where}"})
            else:
                servers.append({"host": host, "address": None, "why": f"{where} answered {describe(answer)} for its A"})
        self.zones[zone] = servers
        return servers

    def server_adapter(self, server: dict):
        port = self.start.port if server["address"] == self.start.address else 53
        return self.adapter({"host": server["host"], "address": server["address"], "port": port})

    # the authoritative servers: their failures are findings ------------------------------------------------------
    def follow(self, adapter, name: str) -> dict:
        """Follow ``name`` to its A records on one server: through CNAMEs, taking each target's records from the same
        answer when the server included them, else asking the same server, else the servers of the target's zone.

        Returns {'status': 'ok'|'missing'|'not_authoritative'|'error', 'addresses', 'said'}: 'said' is what the
        server answered, for the evidence."""
        steps, current, response, asked = [], name, None, None
        try:
            for _hop in range(MAX_CNAMES + 1):
                have = rrsets_from_answer(current, response["answer"]) if response else {}
                if not have and asked != current:
                    response, asked = self.ask(adapter, current, "A"), current
                    have = rrsets_from_answer(current, response["answer"])
                if "A" in have:
                    steps.append(f"{current} A {', '.join(have['A']['values'])}")
                    return {"status": "ok", "addresses": have["A"]["values"], "said": ", ".join(steps)}
                if "CNAME" in have:
                    target = have["CNAME"]["values"][0]
                    steps.append(f"{current} CNAME {target}")
                    if target in (name, *[s.split(" ")[0] for s in steps]):
                        return {"status": "missing", "addresses": [], "said": ", ".join(steps) + " (a CNAME loop)"}
                    current = target
                    continue
                status = _absence(response)
                said = ", ".join([*steps, f"{describe(response)} for {current}"])
                if steps and status == "not_authoritative":  # the CNAME's target is in another zone
                    elsewhere = self.elsewhere(current)
                    return dict(elsewhere, said=f"{said}; {elsewhere['said']}")
                return {"status": status, "addresses": [], "said": said}
        except DnsError as exc:
            return {"status": "error", "addresses": [], "said": ", ".join([*steps, str(exc)])}
        return {"status": "missing", "addresses": [], "said": ", ".join(steps) + f" (more than {MAX_CNAMES} CNAMEs)"}

    def elsewhere(self, name: str) -> dict:
        """``name``'s A records from the authoritative servers of its own zone (the first that answers)."""
        zone, how = self.find_zone(name)
        if zone is None:
            return {"status": "not_authoritative", "addresses": [], "said": how}
        tried = []
        for server in self.servers_of(zone):
            if not server["address"]:
                continue
            adapter = self.server_adapter(server)
            try:
                response = self.ask(adapter, name, "A")
            except DnsError as exc:
                tried.append(str(exc))
                continue
            have = rrsets_from_answer(name, response["answer"])
            if "A" in have:
                values = have["A"]["values"]
                return {"status": "ok", "addresses": values,
                        "said": f"{name} A {', '.join(values)} from {adapter.where}"}  # fmt: skip
            if "CNAME" not in have:
                return {"status": _absence(response), "addresses": [],
                        "said": f"{adapter.where} answered {describe(response)} for {name}"}  # fmt: skip
            tried.append(f"{adapter.where} answered a further CNAME for {name} (not followed)")
        return {"status": "error", "addresses": [], "said": "; ".join(tried) or f"no server of {zone} has an address"}
