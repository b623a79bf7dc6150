# Copyright: oob-prep contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""DNS for out of band management: the ProvisionServer record, planned purely and written with RFC 2136.

An unprovisioned AMT device looks up ``ProvisionServer.<its DNS suffix>`` and sends its hello to port 9971 of the
answer, so the record is a CNAME to the out of band service point's FQDN, or an A record of its IPv4 address.

- ``plan_record(want, have)`` is pure: from the wanted record and what one query returned, the RFC 2136 update to
  send (prerequisites and changes) and the RRsets before and after. A record of another type at the name is a
  conflict unless ``replace_conflicts``.
- ``Rfc2136`` is the adapter: queries to one authoritative server (counted), the zone of a name (its SOA), and signed
  updates: GSS-TSIG with Kerberos (RFC 3645; what AD-integrated zones with "secure only" updates take), TSIG
  (RFC 8945, HMAC), or none when asked explicitly. Samba's GSS-TSIG replies are signed in a way dnspython cannot
  verify (lab-facts): such a reply's rcode is read without its signature, and the change is read back, so a real
  failure is never hidden.
- ``zone_allow_update(values)`` decodes a zone's dNSProperty ([MS-DNSP] 2.3.2.1) to say whether an AD-integrated zone
  takes non-secure updates.
"""

from __future__ import annotations

import base64
import binascii
import re
import socket
import struct
import time
import uuid

from ansible_collections.oob.prep.plugins.module_utils.network.ipv4 import ipv4

try:
    import dns.exception
    import dns.flags
    import dns.message
    import dns.name
    import dns.query
    import dns.rcode
    import dns.rdataclass
    import dns.rdatatype
    import dns.rdtypes.ANY.TKEY
    import dns.tsig
    import dns.update

    HAS_DNSPYTHON = True
    DNSPYTHON_IMPORT_ERROR = None
except ImportError as exc:  # pragma: no cover - reported by the modules
    HAS_DNSPYTHON = False
    DNSPYTHON_IMPORT_ERROR = exc

TSIG_ALGORITHMS = {
    "hmac-sha256": "hmac-sha256.", "hmac-sha384": "hmac-sha384.", "hmac-sha512": "hmac-sha512.",
    "hmac-sha224": "hmac-sha224.", "hmac-sha1": "hmac-sha1.", "hmac-md5": "hmac-md5.sig-alg.reg.int.",
}  # fmt: skip
RECORD_TYPES = ("CNAME", "A")
# RRsets that may sit beside a CNAME: DNSSEC's own (RFC 2181 10.1 and RFC 4035 2.5); every other type may not
# (RFC 1034 3.6.2). An A record may sit beside anything but a CNAME (TXT, DHCID a DHCP server wrote, AAAA, ...).
BESIDE_CNAME = ("RRSIG", "NSEC")
# RFC 8482 4.2: a server that will not answer ANY may answer with one synthesized HINFO whose CPU is "RFC8482"
_RFC8482 = '"rfc8482"'
FALLBACK_TYPES = ("A", "AAAA", "TXT", "DHCID")
_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
# [MS-DNSP] 2.3.2.1.1 property ids, 2.2.6.1.1 ZONE_UPDATE values
DSPROPERTY_ZONE_ALLOW_UPDATE = 0x00000002
ZONE_UPDATE = {0: "off", 1: "nonsecure and secure", 2: "secure only"}


class DnsError(Exception):
    """A failure with a message fit for the user; ``kind`` tells failures apart."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind


# --- input --------------------------------------------------------------------------------------------------------
def check_fqdn(value: str, what: str) -> str:
    """``value`` as a lower-case absolute name without the final dot; ValueError naming ``what`` if it is not one."""
    text = str(value or "").strip().rstrip(".")
    labels = text.split(".")
    if not text or len(text) > 253 or not all(_LABEL.match(label) for label in labels):
        raise ValueError(f"{what} {value!r} is not a valid DNS name (letters, digits and hyphens in dot-separated "
                         "labels of 1 to 63 characters)")  # fmt: skip
    return text.lower()


def check_label(value: str, what: str) -> str:
    text = str(value or "").strip()
    if not _LABEL.match(text):
        raise ValueError(f"{what} {value!r} is not a valid DNS label (1 to 63 letters, digits or hyphens)")
    return text


def check_ipv4(value: str, what: str) -> str:
    """An IPv4 address as text; an IPv6 address is refused: out of band management is IPv4 only."""
    return ipv4(value, what)


def check_tsig_secret(secret: str) -> bytes:
    """The TSIG secret's bytes; ValueError (without the secret) when it is not base64."""
    try:
        raw = base64.b64decode(str(secret or "").strip(), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("tsig_key_secret is not valid base64 (the 'secret' of the key in named.conf or "
                         "tsig-keygen's output)") from None  # fmt: skip
    if not raw:
        raise ValueError("tsig_key_secret is empty")
    return raw


# --- the plan (pure) ----------------------------------------------------------------------------------------------
def rrsets_from_answer(name: str, answer_rrsets: list[tuple[str, str, int, list[str]]]) -> dict:
    """What a query for ``name`` showed: {type: {'ttl': int, 'values': [text]}} for the RRsets owned by ``name``.

    ``answer_rrsets`` is [(owner, type, ttl, [rdata text])]; owners compare case-insensitively without the final dot.
    """
    have: dict = {}
    for owner, rdtype, ttl, values in answer_rrsets:
        if owner.rstrip(".").lower() == name.rstrip(".").lower():
            have[rdtype] = {"ttl": int(ttl), "values": sorted(v.rstrip(".").lower() if rdtype == "CNAME" else v
                                                              for v in values)}  # fmt: skip
    return have


def plan_record(want: dict, have: dict) -> dict:
    """Plan one name. ``want``: name, type (CNAME|A), value, ttl, state (present|absent), replace_conflicts.
    ``have``: {type: {'ttl', 'values'}} of every RRset at the name (rrsets_from_answer of an ANY query).

    Returns {'changed', 'conflicts': [types], 'before': [lines], 'after': [lines], 'prerequisites': [...],
    'changes': [...]} where prerequisites are ('exists'|'absent'|'name_absent', type or None) and changes are
    ('delete_name',), ('delete', type) or ('replace', type, ttl, value) - RFC 2136 sections 2.4 and 2.5.

    The prerequisites say what was read of every RRset the update depends on, so a server holding what was read
    accepts it: the RRset replaced or deleted exists (2.4.1), one added where nothing was read does not (2.4.3), a
    CNAME where the name held nothing needs the name unused (2.4.5). RRsets that may stay (TXT or DHCID beside an A)
    are left alone and are no prerequisite. A CNAME beside other data (RFC 1034 3.6.2, RFC 2181 10.1) is a conflict:
    DnsError('conflict') names the records and what to do, unless ``replace_conflicts``.
    """
    name, rtype, state = want["name"], want["type"], want.get("state", "present")
    if rtype not in RECORD_TYPES:
        raise ValueError(f"type must be one of {', '.join(RECORD_TYPES)}, not {rtype!r}")
    value = want["value"].rstrip(".").lower() if rtype == "CNAME" else want["value"]
    lines = [f"{name}. {have[t]['ttl']} IN {t} {v}" for t in sorted(have) for v in have[t]["values"]]
    mine = have.get(rtype)
    others = sorted(t for t in have if t != rtype and t not in BESIDE_CNAME)
    result = {"changed": False, "conflicts": [], "before": lines, "after": list(lines), "prerequisites": [],
              "changes": []}  # fmt: skip
    if state == "absent":
        if mine:
            result.update(changed=True, after=[line for line in lines if f" IN {rtype} " not in line],
                          prerequisites=[("exists", rtype)], changes=[("delete", rtype)])  # fmt: skip
        return result
    conflicting = others if rtype == "CNAME" else [t for t in others if t == "CNAME"]
    if mine and mine["values"] == [value] and mine["ttl"] == want["ttl"] and not conflicting:
        return result
    if conflicting and not want.get("replace_conflicts"):
        raise DnsError("conflict", _conflict_message(name, rtype, value, conflicting, lines))
    new = f"{name}. {want['ttl']} IN {rtype} {value}"
    kept = [line for line in lines if not any(f" IN {t} " in line for t in (rtype, *conflicting))]
    # what the update depends on, as read: the RRsets it replaces or deletes exist, the ones it adds do not
    prerequisites = [("exists", t) for t in sorted({*conflicting, *([rtype] if mine else [])})]
    if rtype == "CNAME" and not have:
        prerequisites = [("name_absent", None)]  # nothing at all was there (RFC 2136 3.4.2.2)
    else:
        prerequisites += [("absent", t) for t in sorted({rtype, "CNAME"} - set(have))]
    changes = [("delete", t) for t in conflicting] + [("replace", rtype, want["ttl"], value)]
    result.update(changed=True, conflicts=conflicting, after=[*kept, new], prerequisites=prerequisites,
                  changes=changes)  # fmt: skip
    return result


def _conflict_message(name: str, rtype: str, value: str, conflicting: list, lines: list) -> str:
    found = "; ".join(line for line in lines if any(f" IN {t} " in line for t in conflicting))
    if rtype == "CNAME":
        return (
            f"{name} already has {found}: a CNAME cannot sit beside other data at the same name (RFC 1034 3.6.2, "
            f"RFC 2181 10.1). Use type=A with the service point's address (an A record may sit beside them), "
            f"remove those records, or set replace_conflicts=true to delete them and add the CNAME to {value}"
        )
    return (
        f"{name} already has {found}: an A record cannot sit beside a CNAME (RFC 1034 3.6.2). Use type=CNAME "
        f"(target the service point's FQDN), remove the CNAME, or set replace_conflicts=true to replace it with "
        f"the A record {value}"
    )


def zone_allow_update(values: list[bytes]) -> str | None:
    """The dynamic-update setting in a dnsZone's dNSProperty values ([MS-DNSP] 2.3.2.1: DataLength, NameLength,
    Flag, Version, Id as little-endian 32-bit numbers, then Data): 'off', 'nonsecure and secure', 'secure only', or
    None when the zone has no DSPROPERTY_ZONE_ALLOW_UPDATE."""
    for raw in values or []:
        if len(raw) < 21:
            continue
        length, _name_length, _flag, _version, prop = struct.unpack_from("<5I", raw)
        if prop == DSPROPERTY_ZONE_ALLOW_UPDATE and length >= 1:
            data = raw[20 : 20 + length]
            number = int.from_bytes(data, "little")
            return ZONE_UPDATE.get(number, f"unknown ({number})")
    return None


# --- the adapter (I/O) --------------------------------------------------------------------------------------------
class Rfc2136:
    """Queries and RFC 2136 updates to one authoritative server, over TCP (updates) and UDP (queries)."""

    def __init__(self, server: dict, auth: str, timeout: float = 5.0, tsig: dict | None = None, creds=None):
        self.host = server["host"]
        self.address = server.get("address") or self._resolve(server["host"])
        self.port = int(server.get("port") or 53)
        self.auth = auth
        self.timeout = timeout
        self.tsig = tsig or {}
        self.creds = creds
        self.ops = {"queries": 0, "updates": 0}
        self.warnings: list[str] = []
        self._gss = None  # (keyring, keyname) once negotiated

    @staticmethod
    def _resolve(host: str) -> str:
        try:
            return socket.getaddrinfo(host, 53, socket.AF_INET)[0][4][0]
        except OSError as exc:
            raise DnsError("resolve", f"cannot resolve the DNS server {host}: give its address (server: {{host: "
                                      f"{host}, address: <IPv4>}}) ({exc})") from None  # fmt: skip

    @property
    def where(self) -> str:
        return f"{self.host} ({self.address}:{self.port})"

    # queries ------------------------------------------------------------------------------------------------------
    def query(self, name: str, rdtype: str) -> dict:
        """One query; returns {'rcode', 'answer': [(owner, type, ttl, [values])], 'authority': [...],
        'authoritative': the AA flag}."""
        request = dns.message.make_query(f"{name}.", rdtype)
        request.flags &= ~dns.flags.RD  # ask the authoritative server, never make it recurse
        self.ops["queries"] += 1
        try:
            response = dns.query.udp(request, self.address, timeout=self.timeout, port=self.port)
            if response.flags & dns.flags.TC:
                response = dns.query.tcp(request, self.address, timeout=self.timeout, port=self.port)
        except dns.exception.Timeout:
            message = f"{self.where} did not answer a query for {name} {rdtype} within {self.timeout} s (timeout)"
            raise DnsError("timeout", f"{message}: is it up, and port {self.port} open?") from None
        except OSError as exc:
            raise DnsError("unreachable", f"{self.where}: {exc}") from None
        return {
            "rcode": dns.rcode.to_text(response.rcode()),
            "answer": _rrsets(response.answer),
            "authority": _rrsets(response.authority),
            "authoritative": bool(response.flags & dns.flags.AA),
        }

    def read_name(self, name: str) -> dict:
        """Every RRset at ``name``, with one query of type ANY (RFC 1035 3.2.3) to the authoritative server, as
        ``query`` returns it. A server that answers ANY minimally (RFC 8482: one synthesized HINFO "RFC8482") is asked
        for A (which brings a CNAME), AAAA, TXT and DHCID instead, with a warning that other types were not read."""
        response = self.query(name, "ANY")
        if any(rdtype == "HINFO" and any(v.lower().startswith(_RFC8482) for v in values)
               for _owner, rdtype, _ttl, values in response["answer"]):  # fmt: skip
            self.warnings.append(
                f"{self.where} answers ANY minimally (RFC 8482): the records of {name} were read "
                f"type by type ({', '.join(FALLBACK_TYPES)}); other types there were not seen"
            )
            answers = [self.query(name, rdtype) for rdtype in FALLBACK_TYPES]
            response = dict(answers[0], answer=[rrset for a in answers for rrset in a["answer"]])
            if any(a["rcode"] == "NOERROR" for a in answers):
                response["rcode"] = "NOERROR"
        return response

    def zone_of(self, name: str) -> str:
        """The zone that holds ``name``, from the SOA the server returns for it (answer or authority)."""
        response = self.query(name, "SOA")
        for owner, rdtype, _ttl, _values in response["answer"] + response["authority"]:
            if rdtype == "SOA":
                return owner.rstrip(".").lower()
        raise DnsError("zone", f"{self.where} has no zone for {name} (it answered {response['rcode']} without a SOA): "
                               "check the suffix, and that this server is authoritative for its zone")  # fmt: skip

    # updates ------------------------------------------------------------------------------------------------------
    def update(self, zone: str, name: str, plan: dict) -> None:
        """Send the planned update; raise DnsError with the server's rcode when it refuses."""
        message = dns.update.UpdateMessage(f"{zone}.")
        owner = dns.name.from_text(f"{name}.")
        for kind, rtype in plan["prerequisites"]:
            if kind == "exists":
                message.present(owner, rtype)
            elif kind == "absent":
                message.absent(owner, rtype)
            elif kind == "name_absent":
                message.absent(owner)
        for change in plan["changes"]:
            if change[0] == "delete_name":
                message.delete(owner)
            elif change[0] == "delete":
                message.delete(owner, change[1])
            else:
                _kind, rtype, ttl, value = change
                message.replace(owner, ttl, rtype, f"{value}." if rtype == "CNAME" else value)
        keyring = self._sign(message)
        self.ops["updates"] += 1
        rcode, verified = self._exchange_tcp(message, keyring)
        if rcode != "NOERROR":
            raise DnsError(_RCODE_KIND.get(rcode, "refused"), _rcode_message(rcode, zone, name, self, plan))
        if not verified:
            self.warnings.append(f"{self.where} answered NOERROR with a TSIG signature dnspython cannot verify (Samba "
                                 "signs GSS-TSIG replies that way); the change was read back instead")  # fmt: skip

    def _sign(self, message):
        if self.auth == "none":
            return None
        if self.auth == "tsig":
            keyname = dns.name.from_text(self.tsig["name"])
            algorithm = dns.name.from_text(TSIG_ALGORITHMS[self.tsig["algorithm"]])
            key = dns.tsig.Key(keyname, check_tsig_secret(self.tsig["secret"]), algorithm)
            message.use_tsig(key)
            return key
        keyring, keyname = self._gss_context()
        message.use_tsig(keyring, keyname=keyname, algorithm=dns.tsig.GSS_TSIG)
        return keyring

    def _gss_context(self):
        """Negotiate a GSS-TSIG key with the server (RFC 3645 TKEY exchange) with Kerberos, once per run."""
        if self._gss:
            return self._gss
        try:
            import gssapi  # pylint: disable=import-outside-toplevel
        except ImportError:
            raise DnsError("settings", "auth=gss-tsig needs the Python package gssapi on the controller") from None
        # Samba verifies the key name uncompressed: it must not share a suffix with the zone (lab-facts)
        keyname = dns.name.from_text(f"{uuid.uuid4()}.gss-tsig-key.")
        target = gssapi.Name(f"DNS@{self.host}", gssapi.NameType.hostbased_service)
        try:
            context = gssapi.SecurityContext(name=target, creds=self.creds, usage="initiate")
            key = dns.tsig.Key(keyname, context, dns.tsig.GSS_TSIG)
            keyring = dns.tsig.GSSTSigAdapter({keyname: key})
            token = context.step()
            while not context.complete:
                now = int(time.time())
                tkey = dns.rdtypes.ANY.TKEY.TKEY(dns.rdataclass.ANY, dns.rdatatype.TKEY, dns.tsig.GSS_TSIG, now, now,
                                                 3, dns.rcode.NOERROR, token, b"")  # fmt: skip
                query = dns.message.make_query(keyname, dns.rdatatype.TKEY, dns.rdataclass.ANY)
                query.keyring = keyring
                query.find_rrset(dns.message.ADDITIONAL, keyname, dns.rdataclass.ANY, dns.rdatatype.TKEY,
                                 create=True).add(tkey)  # fmt: skip
                self.ops["queries"] += 1
                response = dns.query.tcp(query, self.address, timeout=self.timeout, port=self.port)
                if response.rcode() != dns.rcode.NOERROR:
                    raise DnsError("credentials", f"{self.where} refused the GSS-TSIG key exchange "
                                                  f"({dns.rcode.to_text(response.rcode())})")  # fmt: skip
                if not context.complete:
                    token = context.step(response.answer[0][0].key)
        except gssapi.exceptions.GSSError as exc:
            raise DnsError("credentials", _gss_hint(exc, self.host)) from None
        except dns.exception.Timeout:
            raise DnsError("timeout", f"{self.where} did not answer the GSS-TSIG key exchange within "
                                      f"{self.timeout} s (timeout)") from None  # fmt: skip
        except OSError as exc:
            raise DnsError("unreachable", f"{self.where}: {exc}") from None
        self._gss = (keyring, keyname)
        return self._gss

    def _exchange_tcp(self, message, keyring) -> tuple[str, bool]:
        """Send over TCP; (rcode, whether the reply's signature verified)."""
        wire = message.to_wire()
        try:
            with socket.create_connection((self.address, self.port), timeout=self.timeout) as sock:
                sock.sendall(struct.pack("!H", len(wire)) + wire)
                length = struct.unpack("!H", _recv_exactly(sock, 2))[0]
                reply = _recv_exactly(sock, length)
        except TimeoutError:
            raise DnsError(
                "timeout", f"{self.where} did not answer the update within {self.timeout} s (timeout)"
            ) from None
        except OSError as exc:
            raise DnsError("unreachable", f"{self.where}: the update could not be sent ({exc})") from None
        try:
            response = dns.message.from_wire(reply, keyring=keyring if keyring is not None else False,
                                             request_mac=message.mac if keyring is not None else b"")  # fmt: skip
            return dns.rcode.to_text(response.rcode()), True
        except (dns.tsig.BadSignature, dns.tsig.PeerBadSignature, dns.tsig.PeerBadKey) as exc:
            unsigned = dns.message.from_wire(reply, keyring=False)
            rcode = dns.rcode.to_text(unsigned.rcode())
            if self.auth == "gss-tsig" and rcode == "NOERROR" and isinstance(exc, dns.tsig.BadSignature):
                return rcode, False
            what = f"{self.where} rejected the update's signature ({type(exc).__name__}, rcode {rcode})"
            raise DnsError("credentials", f"{what}: check the key name, algorithm and secret") from None
        except dns.message.UnknownTSIGKey:
            unsigned = dns.message.from_wire(reply, keyring=False)
            return dns.rcode.to_text(unsigned.rcode()), False


_RCODE_KIND = {"REFUSED": "refused", "NOTAUTH": "credentials", "YXDOMAIN": "conflict", "YXRRSET": "conflict",
               "NXRRSET": "conflict", "NOTZONE": "zone"}  # fmt: skip


def _rcode_message(rcode: str, zone: str, name: str, server: Rfc2136, plan: dict) -> str:
    where = server.where
    if rcode == "REFUSED" and server.auth == "none":
        return (
            f"{where} refused an unauthenticated update of {name} in {zone} (REFUSED): the zone takes secure "
            "updates only; use auth=gss-tsig (Kerberos) or auth=tsig"
        )
    if rcode == "REFUSED":
        return (
            f"{where} refused the update of {name} in {zone} (REFUSED): the account or key may not update this "
            "name, or the zone takes no dynamic updates"
        )
    if rcode in ("NOTAUTH",):
        return f"{where} did not accept the update's signature for zone {zone} (NOTAUTH): check the key or credentials"
    if rcode in ("YXDOMAIN", "YXRRSET", "NXRRSET"):
        return (
            f"{name} changed on {where} since it was read ({rcode}: a prerequisite "
            f"{plan['prerequisites']} no longer holds); run again"
        )
    return f"{where} answered {rcode} to the update of {name} in {zone}"


def _gss_hint(exc, host: str) -> str:
    from ansible_collections.oob.prep.plugins.module_utils.ldap.kerberos import gss_message  # pylint: disable=import-outside-toplevel

    text = gss_message(exc)
    lowered = text.lower()
    if "server not found" in lowered:  # before the ticket check: "not found" is in both
        hint = f"the KDC does not know DNS/{host}: give the DNS server's name as its host, not its address"
    elif "no kerberos credentials" in lowered or "no credentials were supplied" in lowered:
        hint = "no Kerberos ticket: run kinit (or give bind_user and bind_password)"
    else:
        hint = "check the Kerberos ticket (kinit), KRB5_CONFIG, and the server's name"
    return f"GSS-TSIG with {host} failed: {hint} ({text.strip()})"


def _recv_exactly(sock, count: int) -> bytes:
    data = b""
    while len(data) < count:
        chunk = sock.recv(count - len(data))
        if not chunk:
            raise OSError("the server closed the connection")
        data += chunk
    return data


def _rrsets(section) -> list[tuple[str, str, int, list[str]]]:
    return [
        (rrset.name.to_text(), dns.rdatatype.to_text(rrset.rdtype), rrset.ttl, [rd.to_text() for rd in rrset])
        for rrset in section
    ]
