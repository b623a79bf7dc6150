#!/usr/bin/python3
"""Drift for the molecule scenario ``drift``: made through the real services with code that is not oob-prep's.

Runs with Debian's Python 3 and Samba's own Python bindings (``samba.samdb``, ``samba.sd_utils``) for AD, raw JSON
on Kea's control socket, ``nft`` in the router's namespace and ``samba-tool dns``: what an admin's hand (or another
tool) would do. Nothing here imports the project's modules.

    drift.py inject round1   the site server's ACEs removed from the AMT container, manager approval set on the AMT
                             provisioning template and that template unpublished from the CA, Domain Users given
                             Enroll on the AMT web server template, option 015 changed in Kea, the ProvisionServer
                             alias deleted, TCP 9971 blocked in the router's oob_prep table
    drift.py inject round2   the AMT container deleted (its deletion protection removed first, as an admin would)
    drift.py observe         JSON: the DC's highestCommittedUSN, the SHA-256 of Kea's running configuration and of
                             the router's ruleset (``nft -s list ruleset``)
"""

from __future__ import annotations

import hashlib
import json
import socket
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "lab"))
import labconfig as C  # noqa: E402

BASE = "DC=lab,DC=example"
CONTAINER = f"OU=AMT Computers,{BASE}"
PKS = f"CN=Public Key Services,CN=Services,CN=Configuration,{BASE}"
WEB = f"CN=ConfigMgrAMTWebServerCertificate,CN=Certificate Templates,{PKS}"
PROVISIONING = "ConfigMgrAMTProvisioning"
PROVISIONING_DN = f"CN={PROVISIONING},CN=Certificate Templates,{PKS}"
CA = f"CN={C.CA_NAME},CN=Enrollment Services,{PKS}"
ENROLL = "0e10c968-78fb-11d2-90d4-00c04f79dc55"  # Certificate-Enrollment extended right [MS-CRTD] 2.1
PEND_ALL_REQUESTS = 0x2  # CT_FLAG_PEND_ALL_REQUESTS, msPKI-Enrollment-Flag [MS-CRTD] 2.26
DRIFT_DOMAIN = "drift.example"


def samdb():
    from samba.credentials import Credentials
    from samba.param import LoadParm
    from samba.samdb import SamDB

    lp = LoadParm()
    lp.load(str(C.dc_dir("lab") / "empty.conf"))
    creds = Credentials()
    creds.guess(lp)
    creds.set_username("Administrator")
    creds.set_password(C.ADMIN_PASSWORD)
    creds.set_domain("LAB")
    return SamDB(url=f"ldap://{C.FORESTS['lab']['dc_ip']}", credentials=creds, lp=lp)


def kea(command: str, arguments: dict | None = None) -> dict:
    request = {"command": command, **({"arguments": arguments} if arguments is not None else {})}
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(10)
        s.connect(str(C.KEA_SOCKET))
        s.sendall(json.dumps(request).encode())
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    answer = json.loads(data)
    if answer["result"] != 0:
        raise SystemExit(f"kea {command}: {answer}")
    return answer.get("arguments")


def router(*cmd: str) -> str:
    proc = subprocess.run(["ip", "netns", "exec", f"{C.PREFIX}-rtr", *cmd], capture_output=True, text=True, timeout=30)
    if proc.returncode:
        raise SystemExit(f"{' '.join(cmd)}: {proc.stderr}")
    return proc.stdout


def samba_tool_dns(*args: str) -> None:
    conf = str(C.dc_dir("lab") / "empty.conf")
    cmd = ["samba-tool", "dns", args[0], C.FORESTS["lab"]["dc_ip"], *args[1:], "-s", conf,
           f"-UAdministrator%{C.ADMIN_PASSWORD}"]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    if proc.returncode:
        raise SystemExit(f"samba-tool dns {' '.join(args)}: {proc.stderr}")


def _sid(db, sam: str) -> str:
    from samba.dcerpc import security
    from samba.ndr import ndr_unpack

    res = db.search(BASE, expression=f"(sAMAccountName={sam})", attrs=["objectSid"])
    return str(ndr_unpack(security.dom_sid, res[0]["objectSid"][0]))


def _delete_explicit_aces(db, dn: str, trustee: str, ace_type=None) -> list[str]:
    """Remove the explicit ACEs of ``trustee`` (a SID string) from ``dn``'s DACL, as an admin's tool would: read the
    descriptor, drop the ACEs, write the DACL back (SD flags: DACL only). Returns the removed ACEs as SDDL."""
    import ldb
    from samba.dcerpc import security
    from samba.ndr import ndr_pack, ndr_unpack

    controls = [f"sd_flags:1:{security.SECINFO_DACL}"]
    res = db.search(dn, scope=ldb.SCOPE_BASE, attrs=["nTSecurityDescriptor"], controls=controls)
    sd = ndr_unpack(security.descriptor, res[0]["nTSecurityDescriptor"][0])
    domain_sid = security.dom_sid(db.get_domain_sid())
    keep, removed = [], []
    for ace in sd.dacl.aces:
        explicit = not ace.flags & security.SEC_ACE_FLAG_INHERITED_ACE
        if explicit and str(ace.trustee) == trustee and (ace_type is None or ace.type == ace_type):
            one = security.descriptor()
            one.dacl_add(ace)
            removed.append(one.as_sddl(domain_sid).split("D:", 1)[1])
        elif explicit:
            keep.append(ace)
    new = security.descriptor()
    new.type = sd.type
    for ace in keep:  # the inherited ACEs are the DC's to add back
        new.dacl_add(ace)
    msg = ldb.Message(ldb.Dn(db, dn))
    msg["nTSecurityDescriptor"] = ldb.MessageElement(ndr_pack(new), ldb.FLAG_MOD_REPLACE, "nTSecurityDescriptor")
    db.modify(msg, controls=controls)
    return removed


def round1() -> list[str]:
    import ldb
    from samba.sd_utils import SDUtils

    db = samdb()
    sd = SDUtils(db)
    done = []
    site_sid = _sid(db, "SCCM01$")
    aces = _delete_explicit_aces(db, CONTAINER, site_sid)
    if not aces:
        raise SystemExit(f"no ACE of SCCM01$ ({site_sid}) on {CONTAINER}: was the lab converged?")
    done.append(f"container: removed {''.join(aces)}")

    res = db.search(PROVISIONING_DN, scope=ldb.SCOPE_BASE, attrs=["msPKI-Enrollment-Flag"])
    flags = int(res[0]["msPKI-Enrollment-Flag"][0])
    msg = ldb.Message(ldb.Dn(db, PROVISIONING_DN))
    msg["msPKI-Enrollment-Flag"] = ldb.MessageElement(str(flags | PEND_ALL_REQUESTS), ldb.FLAG_MOD_REPLACE,
                                                      "msPKI-Enrollment-Flag")  # fmt: skip
    db.modify(msg)
    done.append(
        f"provisioning template: msPKI-Enrollment-Flag {flags} -> {flags | PEND_ALL_REQUESTS} (manager approval)"
    )

    msg = ldb.Message(ldb.Dn(db, CA))
    msg["certificateTemplates"] = ldb.MessageElement(PROVISIONING, ldb.FLAG_MOD_DELETE, "certificateTemplates")
    db.modify(msg)
    done.append(f"CA {C.CA_NAME}: {PROVISIONING} unpublished")

    sd.dacl_add_ace(WEB, f"(OA;;CR;{ENROLL};;DU)")
    done.append("web server template: Enroll for Domain Users")

    config = kea("config-get")
    config.pop("hash", None)
    changed = 0
    for subnet in config["Dhcp4"]["subnet4"]:
        for option in subnet.get("option-data", []):
            if option.get("name") == "domain-name" or option.get("code") == 15:
                option["data"] = DRIFT_DOMAIN
                changed += 1
    if not changed:
        raise SystemExit("Kea: no option 15 on any subnet: was the lab converged?")
    kea("config-set", config)
    done.append(f"Kea: option 015 set to {DRIFT_DOMAIN} on {changed} scope(s) (running configuration)")

    samba_tool_dns("delete", "lab.example", "ProvisionServer", "CNAME", C.SERVICE_POINT["fqdn"])
    done.append("DNS: ProvisionServer.lab.example CNAME deleted")

    router("nft", "insert", "rule", "inet", "oob_prep", "forward", "tcp", "dport", "9971", "drop")
    done.append("router: TCP 9971 dropped first in inet oob_prep forward")
    return done


def round2() -> list[str]:
    from samba.dcerpc import security

    db = samdb()
    deny = _delete_explicit_aces(db, CONTAINER, security.SID_WORLD, security.SEC_ACE_TYPE_ACCESS_DENIED)
    db.delete(CONTAINER, ["tree_delete:1"])
    return [f"container {CONTAINER} deleted (deletion protection {''.join(deny) or 'absent'} removed first)"]


def observe() -> dict:
    db = samdb()
    usn = int(db.search("", scope=0, attrs=["highestCommittedUSN"])[0]["highestCommittedUSN"][0])
    config = kea("config-get")
    config.pop("hash", None)
    return {
        "usn": usn,
        "kea_sha256": hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest(),
        "nft_sha256": hashlib.sha256(router("nft", "-s", "list", "ruleset").encode()).hexdigest(),
    }


def main(argv: list[str]) -> int:
    if argv[:2] == ["inject", "round1"]:
        print(json.dumps({"injected": round1()}, indent=2))
    elif argv[:2] == ["inject", "round2"]:
        print(json.dumps({"injected": round2()}, indent=2))
    elif argv[:1] == ["observe"]:
        print(json.dumps(observe()))
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
