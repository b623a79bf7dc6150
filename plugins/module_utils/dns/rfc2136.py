# Copyright: oob-prep contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""DNS for out of band management, the wire: RFC 2136 updates and the queries they depend on, to one server.

``Rfc2136`` is the adapter: queries to one authoritative server (counted), the zone of a name (its SOA), every RRset at
a name (``read_name``), and signed updates of what ``plan.plan_record`` planned: GSS-TSIG with Kerberos (RFC 3645;
what AD-integrated zones with "secure only" updates take), TSIG (RFC 8945, HMAC), or none when asked explicitly.
Samba's GSS-TSIG replies are signed in a way dnspython cannot verify (lab-facts): such a reply's rcode is read without
its signature, and the change is read back, so a real failure is never hidden. Its failures are ``plan.DnsError``.
"""

from __future__ import annotations

import socket
import struct
import time
import uuid

from ansible_collections.oob.prep.plugins.module_utils.dns.plan import DnsError, check_tsig_secret

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
# RFC 8482 4.2: a server that will not answer ANY may answer with one synthesized HINFO whose CPU is "RFC8482"
_RFC8482 = '"rfc8482"'
FALLBACK_TYPES = ("A", "AAAA", "TXT", "DHCID")


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
            # a connected socket: a server whose port 53 is closed answers with an ICMP port unreachable, which
            # the kernel reports on a connected socket only (at once, "Connection refused", not a timeout)
            family = socket.AF_INET6 if ":" in self.address else socket.AF_INET
            with socket.socket(family, socket.SOCK_DGRAM) as sock:
                sock.setblocking(False)
                sock.connect((self.address, self.port))
                response = dns.query.udp(request, self.address, timeout=self.timeout, port=self.port, sock=sock)
            if response.flags & dns.flags.TC:
                response = dns.query.tcp(request, self.address, timeout=self.timeout, port=self.port)
        except dns.exception.Timeout:
            message = f"{self.where} did not answer a query for {name} {rdtype} within {self.timeout} s (timeout)"
            raise DnsError("timeout", f"{message}: is it up, and port {self.port} open?") from None
        except ConnectionRefusedError:
            message = f"{self.where} refused a query for {name} {rdtype}: nothing listens on port {self.port}"
            raise DnsError("unreachable", f"{message} (ICMP port unreachable): is the DNS server running?") from None
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
