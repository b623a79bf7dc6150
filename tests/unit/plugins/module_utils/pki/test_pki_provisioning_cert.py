"""pki.provisioning_cert over certificates made by the openssl CLI. Every expected value comes from openssl (subjects,
dates, serials, fingerprints), from the names and options given to openssl here, or from the primary source of a
rule; none is computed by the module under test."""

from __future__ import annotations

import datetime
import shutil
import subprocess

import pytest
from ansible_collections.oob.prep.plugins.module_utils.pki.provisioning_cert import (
    AMT_PROVISIONING_OID,
    INTEL_SETUP_OU,
    ROW,
    SERVER_AUTH_OID,
    Bundle,
    CertificateError,
    build_chain,
    certificate_fqdn,
    check_provisioning_certificate,
    load_der_chain,
    load_pem,
    load_pkcs12,
    suffix_matches,
    thumbprints,
)

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="the openssl CLI makes the test certificates")

WHERE = "the PEM /etc/oob/prov.pem"
FQDN = "oobsp.lab.example"
ROOT_CN, ISSUING_CN, BIG_ROOT_CN = "OOB Lab Root CA", "OOB Lab Issuing CA", "OOB Lab Big Root CA"
P12_PASSWORD = "P12-s3cret!pw"  # noqa: S105 - a test fixture's password
PEM_KEY_PASSWORD = "pem-key-pw"  # noqa: S105

CONFIG = f"""
[req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
[v3_ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[v3_amt]
basicConstraints = CA:FALSE
keyUsage = digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth, {AMT_PROVISIONING_OID}
subjectAltName = DNS:{FQDN}
[v3_ou]
basicConstraints = CA:FALSE
extendedKeyUsage = serverAuth
[v3_no_amt]
basicConstraints = CA:FALSE
extendedKeyUsage = serverAuth, clientAuth
[v3_san_only]
basicConstraints = CA:FALSE
extendedKeyUsage = serverAuth, {AMT_PROVISIONING_OID}
subjectAltName = DNS:oobsp.san.example, DNS:other.san.example
[ca]
default_ca = lab_ca
[lab_ca]
database = index.txt
new_certs_dir = .
serial = serial.txt
default_md = sha256
policy = any_dn
unique_subject = no
x509_extensions = v3_amt
[any_dn]
organizationName = optional
organizationalUnitName = optional
commonName = supplied
"""


class Lab:
    """The certificates, as files in ``path``; ``run`` is openssl in that folder."""

    def __init__(self, path):
        self.path, self.answers = path, {}

    def run(self, *args: str) -> str:
        result = subprocess.run(["openssl", *args], cwd=self.path, capture_output=True, text=True)
        assert result.returncode == 0, f"openssl {' '.join(args)}: {result.stderr}"
        return result.stdout

    def bytes(self, name: str) -> bytes:
        return (self.path / name).read_bytes()

    def pem(self, *names: str) -> bytes:
        return b"".join(self.bytes(n) for n in names)

    def der(self, name: str) -> bytes:
        return (self.path / name.replace(".pem", ".der")).read_bytes()

    def query(self, *args: str) -> str:
        """``run`` for questions about finished files, each asked of openssl once."""
        if args not in self.answers:
            self.answers[args] = self.run(*args)
        return self.answers[args]

    def field(self, name: str, option: str) -> str:
        """One ``-noout`` field of a certificate, as openssl prints it after the first "="."""
        out = self.query("x509", "-noout", option, "-nameopt", "RFC2253", "-in", name).strip()
        return out.split("=", 1)[1].strip()

    def fingerprint(self, name: str, digest: str) -> str:
        """``openssl x509 -fingerprint -<digest>``, colons stripped, lowercase."""
        out = self.query("x509", "-noout", "-fingerprint", f"-{digest}", "-in", name).strip()
        return out.split("=", 1)[1].replace(":", "").lower()

    def date(self, name: str, option: str) -> datetime.datetime:
        text = self.field(name, option)  # e.g. "Jan  1 00:00:00 2021 GMT"
        return datetime.datetime.strptime(text, "%b %d %H:%M:%S %Y GMT").replace(tzinfo=datetime.timezone.utc)  # noqa: UP017


def _key(lab: Lab, name: str, bits: int = 2048, *options: str) -> None:
    extra = [arg for option in options for arg in ("-pkeyopt", option)]
    lab.run("genpkey", "-algorithm", "RSA", "-pkeyopt", f"rsa_keygen_bits:{bits}", *extra, "-out", name)


def _root(lab: Lab, key: str, cn: str, out: str) -> None:
    lab.run("req", "-x509", "-new", "-config", "lab.cnf", "-extensions", "v3_ca", "-key", key,
            "-subj", f"/O=OOB Lab/CN={cn}", "-days", "3650", "-out", out)  # fmt: skip


def _csr(lab: Lab, key: str, subject: str, out: str) -> None:
    lab.run("req", "-new", "-config", "lab.cnf", "-key", key, "-subj", subject, "-out", out)


def _sign(lab: Lab, csr: str, ca: str, ca_key: str, ext: str, out: str, serial: int, days: int = 365) -> None:
    lab.run("x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-set_serial", str(serial), "-days", str(days),
            "-sha256", "-extfile", "lab.cnf", "-extensions", ext, "-out", out)  # fmt: skip


@pytest.fixture(scope="session")
def lab(built_once) -> Lab:
    return Lab(built_once("provisioning_cert", _build))


def _build(path) -> None:
    """Every certificate and key the tests read, made with the openssl CLI."""
    lab = Lab(path)
    (path / "lab.cnf").write_text(CONFIG)
    (path / "index.txt").write_text("")
    (path / "serial.txt").write_text("1000\n")
    for key in ("root.key", "issuing.key", "forged.key", "leaf.key"):
        _key(lab, key)
    _root(lab, "root.key", ROOT_CN, "root.pem")
    _csr(lab, "issuing.key", f"/O=OOB Lab/CN={ISSUING_CN}", "issuing.csr")
    _sign(lab, "issuing.csr", "root.pem", "root.key", "v3_ca", "issuing.pem", 2, days=1825)
    # a CA certificate with the issuing CA's name but another key: what it signs does not verify with the real one
    _csr(lab, "forged.key", f"/O=OOB Lab/CN={ISSUING_CN}", "forged.csr")
    _sign(lab, "forged.csr", "root.pem", "root.key", "v3_ca", "forged-ca.pem", 3, days=1825)
    _csr(lab, "leaf.key", f"/O=OOB Lab/CN={FQDN}", "leaf.csr")
    _csr(lab, "leaf.key", f"/O=OOB Lab/OU={INTEL_SETUP_OU}/CN={FQDN}", "ou.csr")
    _csr(lab, "leaf.key", f"/O=OOB Lab/OU={INTEL_SETUP_OU.lower()}/CN={FQDN}", "ou-case.csr")
    _csr(lab, "leaf.key", "/O=OOB Lab/CN=AMT provisioning", "san.csr")
    _sign(lab, "leaf.csr", "issuing.pem", "issuing.key", "v3_amt", "good.pem", 10)
    _sign(lab, "ou.csr", "issuing.pem", "issuing.key", "v3_ou", "ou.pem", 11)
    _sign(lab, "ou-case.csr", "issuing.pem", "issuing.key", "v3_ou", "ou-case.pem", 12)
    _sign(lab, "leaf.csr", "issuing.pem", "issuing.key", "v3_no_amt", "no-amt.pem", 13)
    _sign(lab, "leaf.csr", "issuing.pem", "issuing.key", "v3_amt", "soon.pem", 14, days=10)
    _sign(lab, "san.csr", "issuing.pem", "issuing.key", "v3_san_only", "san.pem", 15)
    _sign(lab, "leaf.csr", "forged-ca.pem", "forged.key", "v3_amt", "forged-leaf.pem", 16)
    # openssl 3.0's x509 has no -not_before: openssl ca sets past dates
    lab.run("ca", "-batch", "-config", "lab.cnf", "-name", "lab_ca", "-cert", "issuing.pem", "-keyfile", "issuing.key",
            "-startdate", "20200101000000Z", "-enddate", "20210101000000Z", "-preserveDN", "-notext",
            "-in", "leaf.csr", "-out", "expired.pem")  # fmt: skip
    lab.run("pkey", "-in", "leaf.key", "-aes256", "-passout", f"pass:{PEM_KEY_PASSWORD}", "-out", "leaf-enc.key")
    (path / "cas.pem").write_bytes(lab.pem("issuing.pem", "root.pem"))
    lab.run("pkcs12", "-export", "-inkey", "leaf.key", "-in", "good.pem", "-certfile", "cas.pem",
            "-passout", f"pass:{P12_PASSWORD}", "-out", "good.p12")  # fmt: skip
    # RC2/3DES, as older Windows exports PFX files; an openssl without its legacy provider cannot: that test skips
    subprocess.run(["openssl", "pkcs12", "-export", "-legacy", "-inkey", "leaf.key", "-in", "good.pem",
                    "-certfile", "cas.pem", "-passout", f"pass:{P12_PASSWORD}", "-out", "legacy.p12"],
                   cwd=path, capture_output=True)  # fmt: skip
    # a 4096-bit modulus of four primes: as long a key as any, made in a tenth of the time of a two-prime one
    _key(lab, "big.key", 4096, "rsa_keygen_primes:4")
    _root(lab, "big.key", BIG_ROOT_CN, "big-root.pem")
    _sign(lab, "leaf.csr", "big-root.pem", "big.key", "v3_amt", "big-leaf.pem", 17)
    for name in ("root", "issuing", "good", "forged-leaf", "big-root", "big-leaf"):
        lab.run("x509", "-in", f"{name}.pem", "-outform", "DER", "-out", f"{name}.der")


def run_checks(bundle: Bundle, now: datetime.datetime, suffixes=("lab.example",), **kwargs):
    checks, facts = check_provisioning_certificate(bundle, amt_suffixes=list(suffixes), now=now, where=WHERE, **kwargs)
    return {c["id"]: c for c in checks}, facts


def mid_life(lab: Lab, name: str) -> datetime.datetime:
    """A moment well inside the certificate's validity, from openssl's dates."""
    start = lab.date(name, "-startdate")
    return start + datetime.timedelta(days=100)


# --- loading ------------------------------------------------------------------------------------------------------


def test_load_pem_takes_the_first_certificate_that_is_not_a_ca_as_the_leaf(lab):
    bundle = load_pem(lab.pem("root.pem", "issuing.pem", "good.pem", "leaf.key"))
    assert bundle.leaf.subject.rfc4514_string() == lab.field("good.pem", "-subject")
    assert sorted(c.subject.rfc4514_string() for c in bundle.others) == sorted(
        [lab.field("root.pem", "-subject"), lab.field("issuing.pem", "-subject")]
    )
    assert bundle.has_private_key is True


@pytest.mark.parametrize(
    ("names", "has_key"),
    [(("good.pem", "issuing.pem", "root.pem"), False), (("good.pem", "leaf-enc.key"), True)],
    ids=["no key", "encrypted key"],
)
def test_load_pem_sees_a_private_key_block(lab, names, has_key):
    assert load_pem(lab.pem(*names)).has_private_key is has_key


def test_load_pem_with_only_ca_certificates_takes_the_first(lab):
    bundle = load_pem(lab.pem("issuing.pem", "root.pem"))
    assert bundle.leaf.subject.rfc4514_string() == lab.field("issuing.pem", "-subject")


@pytest.mark.parametrize("data", [b"", b"not a certificate", None], ids=["empty", "text", "key only"])
def test_load_pem_without_a_certificate_is_a_certificate_error(lab, data):
    data = lab.bytes("leaf.key") if data is None else data
    with pytest.raises(CertificateError, match="no certificate") as info:
        load_pem(data)
    assert info.value.kind == "certificate"


def test_load_pem_with_a_broken_certificate_is_a_certificate_error():
    data = b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
    with pytest.raises(CertificateError, match="cannot be read"):
        load_pem(data)


@pytest.mark.parametrize("name", ["good.p12", "legacy.p12"], ids=["AES (OpenSSL 3 default)", "legacy RC2/3DES"])
def test_load_pkcs12_gives_the_keyed_certificate_its_chain_and_the_key(lab, name):
    if not (lab.path / name).is_file():
        pytest.skip(f"this openssl could not write {name}")
    bundle = load_pkcs12(lab.bytes(name), P12_PASSWORD)
    assert thumbprints(bundle.leaf)["sha256"] == lab.fingerprint("good.pem", "sha256")
    assert sorted(thumbprints(c)["sha1"] for c in bundle.others) == sorted(
        [lab.fingerprint("issuing.pem", "sha1"), lab.fingerprint("root.pem", "sha1")]
    )
    assert bundle.has_private_key is True


@pytest.mark.parametrize("password", ["wrong-password-123", None, ""], ids=["wrong", "none", "empty"])
def test_load_pkcs12_wrong_password_names_the_option_and_never_the_password(lab, password):
    with pytest.raises(CertificateError) as info:
        load_pkcs12(lab.bytes("good.p12"), password)
    message = str(info.value)
    assert "check the password option" in message
    assert P12_PASSWORD not in message
    assert password is None or password == "" or password not in message
    assert info.value.__cause__ is None and info.value.__suppress_context__
    assert info.value.kind == "certificate"


def test_load_der_chain_takes_the_first_as_leaf_and_keeps_the_key_flag(lab):
    bundle = load_der_chain([lab.der("good.pem"), lab.der("issuing.pem"), lab.der("root.pem")], None)
    assert bundle.leaf.subject.rfc4514_string() == lab.field("good.pem", "-subject")
    assert [c.subject.rfc4514_string() for c in bundle.others] == [
        lab.field("issuing.pem", "-subject"),
        lab.field("root.pem", "-subject"),
    ]
    assert bundle.has_private_key is None


@pytest.mark.parametrize("ders", [[], b"\x30\x00", [b"\x30\x03\x02\x01\x01"]], ids=["empty", "bytes", "not DER"])
def test_load_der_chain_refuses_what_is_not_a_list_of_certificates(ders):
    with pytest.raises(CertificateError):
        load_der_chain(ders, True)


# --- thumbprints, FQDN ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["root.pem", "good.pem", "big-root.pem"])
def test_thumbprints_are_openssls_fingerprints(lab, name):
    cert = load_pem(lab.bytes(name)).leaf
    assert thumbprints(cert) == {d: lab.fingerprint(name, d) for d in ("sha1", "sha256", "sha384")}


@pytest.mark.parametrize(
    ("name", "fqdn"),
    [("good.pem", FQDN), ("ou.pem", FQDN), ("san.pem", "oobsp.san.example"), ("root.pem", None)],
    ids=["CN", "CN with OU", "first SAN when the CN is no DNS name", "none"],
)
def test_certificate_fqdn(lab, name, fqdn):
    assert certificate_fqdn(load_pem(lab.bytes(name)).leaf) == fqdn


# --- the suffix rule ----------------------------------------------------------------------------------------------

# Microsoft, WEMD UA - SMS writing team blog, "Out of Band Management Requirements for In-Band AMT Provisioning and
# DHCP" (2008-12-09): "For AMT 3.2.1 and above, only the last two domain names are checked and not the complete DNS
# suffix. For example, if the DNS suffix in AMT was sales.contoso.com and the DNS suffix in the AMT provisioning
# certificate was marketing.contoso.com - then there is a positive match [...] if the DNS suffix in AMT was
# sales.contoso.com and the DNS suffix in the AMT provisioning certificate was marketing.northwindtraders.com, or the
# DNS suffix value was blank in AMT - then the DNS suffix match would fail".
SUFFIX_TABLE = [
    ("oobsp.marketing.contoso.com", "sales.contoso.com", True),  # the blog's positive example
    ("oobsp.marketing.northwindtraders.com", "sales.contoso.com", False),  # the blog's negative example
    ("oobsp.marketing.contoso.com", "", False),  # the blog: a blank suffix in AMT
    ("oobsp.contoso.com", "contoso.com", True),
    ("a.b.c.contoso.com", "x.y.contoso.com", True),  # only two labels are compared, however deep
    ("oobsp.notcontoso.com", "contoso.com", False),  # labels, not characters: a plain endswith would say yes
    ("oobsp.contoso.com", "contoso.net", False),
    ("oobsp.contoso.com", "sales.fabrikam.com", False),
    ("OOBSP.Marketing.CONTOSO.com.", "sales.contoso.COM.", True),  # case and trailing dots do not count
    ("oobsp.lab.example", "lab.example", True),
    ("", "contoso.com", False),
]


@pytest.mark.parametrize(("fqdn", "suffix", "expected"), SUFFIX_TABLE)
def test_suffix_matches_compares_the_last_two_labels(fqdn, suffix, expected):
    ok, rule = suffix_matches(fqdn, suffix)
    assert ok is expected
    assert rule


def test_suffix_rule_is_said_in_words():
    ok, rule = suffix_matches("oobsp.marketing.contoso.com", "sales.contoso.com")
    assert ok and "last two labels" in rule and "contoso.com" in rule
    ok, rule = suffix_matches("oobsp.contoso.com", "")
    assert not ok and "blank" in rule


@pytest.mark.parametrize(("fqdn", "suffix", "expected"), [("oobsp.corp", "corp", True), ("oobsp.corp", "lab", False)])
def test_a_one_label_suffix_is_compared_whole(fqdn, suffix, expected):
    ok, rule = suffix_matches(fqdn, suffix)
    assert ok is expected and "one-label" in rule


# --- the chain ----------------------------------------------------------------------------------------------------


def test_build_chain_goes_up_to_the_self_signed_root(lab):
    chain, problem = build_chain(load_pem(lab.pem("good.pem", "root.pem", "issuing.pem")))
    assert problem is None
    assert [c.subject.rfc4514_string() for c in chain] == [
        lab.field(n, "-subject") for n in ("good.pem", "issuing.pem", "root.pem")
    ]


def test_build_chain_takes_extra_certificates(lab):
    bundle = load_pem(lab.bytes("good.pem"))
    extra = load_pem(lab.pem("issuing.pem", "root.pem"))
    chain, problem = build_chain(bundle, [extra.leaf, *extra.others])
    assert problem is None and len(chain) == 3


def test_build_chain_names_the_missing_issuer(lab):
    chain, problem = build_chain(load_pem(lab.pem("good.pem", "root.pem")))
    assert len(chain) == 1
    assert lab.field("good.pem", "-issuer") in problem and "missing" in problem


def test_build_chain_reports_a_signature_that_does_not_verify(lab):
    bundle = load_der_chain([lab.der("forged-leaf.pem"), lab.der("issuing.pem"), lab.der("root.pem")], True)
    chain, problem = build_chain(bundle)
    assert len(chain) == 1 and "signature" in problem and ISSUING_CN in problem


def test_build_chain_picks_the_issuer_whose_key_verifies_among_same_named_ones(lab):
    # the forged CA carries the issuing CA's name: the chain must use the one whose key signed the leaf
    bundle = load_pem(lab.pem("good.pem", "forged-ca.pem", "issuing.pem", "root.pem"))
    chain, problem = build_chain(bundle)
    assert problem is None
    assert thumbprints(chain[1])["sha1"] == lab.fingerprint("issuing.pem", "sha1")


# --- check_provisioning_certificate -------------------------------------------------------------------------------


def test_a_good_certificate_passes_every_check_and_its_facts_are_openssls(lab):
    bundle = load_pem(lab.pem("good.pem", "issuing.pem", "root.pem", "leaf.key"))
    by_id, facts = run_checks(bundle, mid_life(lab, "good.pem"))
    assert set(by_id) == {
        "pki.provisioning.eku", "pki.provisioning.validity", "pki.provisioning.chain",
        "pki.provisioning.ca_key_length", "pki.provisioning.suffix.lab.example", "pki.provisioning.private_key",
    }  # fmt: skip
    assert {c["status"] for c in by_id.values()} == {"pass"}
    assert all(WHERE in c["evidence"] and c["remedy"] == "" for c in by_id.values())
    assert by_id["pki.provisioning.ca_key_length"]["row"] == "ca_key_length"
    assert {c["row"] for i, c in by_id.items() if i != "pki.provisioning.ca_key_length"} == {"oob_certificates"}
    assert facts["subject"] == lab.field("good.pem", "-subject")
    assert facts["issuer"] == lab.field("good.pem", "-issuer")
    assert facts["fqdn"] == FQDN
    assert facts["not_before"] == lab.date("good.pem", "-startdate").isoformat()
    assert facts["not_after"] == lab.date("good.pem", "-enddate").isoformat()
    assert facts["eku"] == [SERVER_AUTH_OID, AMT_PROVISIONING_OID]
    assert facts["ou"] == []
    assert int(facts["serial"], 16) == int(lab.field("good.pem", "-serial"), 16) == 10
    assert facts["thumbprints"] == {d: lab.fingerprint("good.pem", d) for d in ("sha1", "sha256", "sha384")}
    assert facts["chain"] == [lab.field(n, "-subject") for n in ("good.pem", "issuing.pem", "root.pem")]
    assert facts["root"] == {
        "subject": lab.field("root.pem", "-subject"),
        "thumbprints": {d: lab.fingerprint("root.pem", d) for d in ("sha1", "sha256", "sha384")},
    }


def test_chain_evidence_names_the_subjects_up_to_the_root(lab):
    by_id, _ = run_checks(load_pem(lab.pem("good.pem", "issuing.pem", "root.pem")), mid_life(lab, "good.pem"))
    evidence = by_id["pki.provisioning.chain"]["evidence"]
    assert evidence.index(FQDN) < evidence.index(ISSUING_CN) < evidence.index(ROOT_CN)


def test_the_intel_setup_ou_with_server_authentication_passes_the_eku_check(lab):
    by_id, facts = run_checks(load_pem(lab.pem("ou.pem", "issuing.pem", "root.pem")), mid_life(lab, "ou.pem"))
    assert by_id["pki.provisioning.eku"]["status"] == "pass"
    assert INTEL_SETUP_OU in by_id["pki.provisioning.eku"]["evidence"]
    assert facts["ou"] == [INTEL_SETUP_OU] and facts["eku"] == [SERVER_AUTH_OID]


def test_the_ou_is_case_sensitive(lab):
    by_id, _ = run_checks(load_pem(lab.pem("ou-case.pem", "issuing.pem", "root.pem")), mid_life(lab, "ou-case.pem"))
    eku = by_id["pki.provisioning.eku"]
    assert eku["status"] == "fail" and "case" in eku["evidence"]


def test_without_the_amt_oid_or_ou_the_eku_check_fails_naming_what_is_missing(lab):
    by_id, _ = run_checks(load_pem(lab.pem("no-amt.pem", "issuing.pem", "root.pem")), mid_life(lab, "no-amt.pem"))
    eku = by_id["pki.provisioning.eku"]
    assert eku["status"] == "fail"
    assert AMT_PROVISIONING_OID in eku["evidence"] and WHERE in eku["evidence"]
    assert "1.3.6.1.5.5.7.3.2" in eku["evidence"]  # the EKUs found: clientAuth, from the openssl config
    assert "AMT Provisioning template" in eku["remedy"] and INTEL_SETUP_OU in eku["remedy"]


def test_an_expired_certificate_fails_saying_how_many_days_ago(lab):
    not_after = lab.date("expired.pem", "-enddate")
    assert not_after == datetime.datetime(2021, 1, 1, tzinfo=datetime.timezone.utc)  # noqa: UP017 - as asked of openssl
    now = not_after + datetime.timedelta(days=60, hours=5)
    by_id, _ = run_checks(load_pem(lab.pem("expired.pem", "issuing.pem", "root.pem")), now)
    validity = by_id["pki.provisioning.validity"]
    assert validity["status"] == "fail"
    assert "2021-01-01" in validity["evidence"] and "60 days ago" in validity["evidence"]
    assert validity["remedy"]


def test_a_certificate_not_yet_valid_fails(lab):
    now = lab.date("good.pem", "-startdate") - datetime.timedelta(days=2)
    by_id, _ = run_checks(load_pem(lab.pem("good.pem", "issuing.pem", "root.pem")), now)
    assert by_id["pki.provisioning.validity"]["status"] == "fail"
    assert "not valid before" in by_id["pki.provisioning.validity"]["evidence"]


@pytest.mark.parametrize(("warn_days", "status"), [(30, "warn"), (5, "pass")])
def test_a_certificate_expiring_soon_warns_saying_in_how_many_days(lab, warn_days, status):
    not_after = lab.date("soon.pem", "-enddate")
    assert not_after - lab.date("soon.pem", "-startdate") == datetime.timedelta(days=10)  # -days 10
    now = not_after - datetime.timedelta(days=7, hours=1)
    by_id, _ = run_checks(load_pem(lab.pem("soon.pem", "issuing.pem", "root.pem")), now, warn_days=warn_days)
    validity = by_id["pki.provisioning.validity"]
    assert validity["status"] == status
    assert "7 days" in validity["evidence"] and not_after.strftime("%Y-%m-%d") in validity["evidence"]


def test_a_naive_now_is_utc(lab):
    not_after = lab.date("soon.pem", "-enddate")
    now = (not_after + datetime.timedelta(minutes=1)).replace(tzinfo=None)
    by_id, _ = run_checks(load_pem(lab.pem("soon.pem", "issuing.pem", "root.pem")), now)
    assert by_id["pki.provisioning.validity"]["status"] == "fail"


def test_a_4096_bit_root_fails_the_ca_key_length_check_naming_it(lab):
    by_id, facts = run_checks(load_pem(lab.pem("big-leaf.pem", "big-root.pem")), mid_life(lab, "big-leaf.pem"))
    ca_key = by_id["pki.provisioning.ca_key_length"]
    assert ca_key["status"] == "fail" and ca_key["row"] == "ca_key_length"
    assert BIG_ROOT_CN in ca_key["evidence"] and "4096" in ca_key["evidence"]
    assert "2048" in ca_key["remedy"]
    assert by_id["pki.provisioning.chain"]["status"] == "pass"
    assert facts["root"]["thumbprints"]["sha256"] == lab.fingerprint("big-root.pem", "sha256")


def test_the_2048_bit_chain_passes_saying_what_was_found(lab):
    by_id, _ = run_checks(load_pem(lab.pem("good.pem", "issuing.pem", "root.pem")), mid_life(lab, "good.pem"))
    evidence = by_id["pki.provisioning.ca_key_length"]["evidence"]
    assert ROOT_CN in evidence and ISSUING_CN in evidence and "2048" in evidence


def test_a_missing_intermediate_fails_the_chain_and_skips_the_key_length(lab):
    by_id, facts = run_checks(load_pem(lab.pem("good.pem", "root.pem")), mid_life(lab, "good.pem"))
    chain = by_id["pki.provisioning.chain"]
    assert chain["status"] == "fail" and ISSUING_CN in chain["evidence"] and chain["remedy"]
    assert by_id["pki.provisioning.ca_key_length"]["status"] == "skip"
    assert facts["root"] is None and facts["chain"] == [lab.field("good.pem", "-subject")]


def test_a_bad_signature_fails_the_chain(lab):
    bundle = load_pem(lab.pem("forged-leaf.pem", "issuing.pem", "root.pem"))
    by_id, _ = run_checks(bundle, mid_life(lab, "forged-leaf.pem"))
    assert by_id["pki.provisioning.chain"]["status"] == "fail"
    assert "signature" in by_id["pki.provisioning.chain"]["evidence"]


def test_one_suffix_row_per_amt_suffix(lab):
    bundle = load_pem(lab.pem("good.pem", "issuing.pem", "root.pem"))
    suffixes = ["lab.example", "Corp.Lab.Example.", "sales.other.example"]
    by_id, _ = run_checks(bundle, mid_life(lab, "good.pem"), suffixes)
    rows = {i: c for i, c in by_id.items() if i.startswith("pki.provisioning.suffix")}
    assert {i: c["status"] for i, c in rows.items()} == {
        "pki.provisioning.suffix.lab.example": "pass",
        "pki.provisioning.suffix.corp.lab.example": "pass",
        "pki.provisioning.suffix.sales.other.example": "fail",
    }
    failed = rows["pki.provisioning.suffix.sales.other.example"]
    assert FQDN in failed["evidence"] and "sales.other.example" in failed["evidence"]
    assert "last two labels" in failed["evidence"]
    assert "015" in failed["remedy"] and "MEBx" in failed["remedy"]
    assert all(c["row"] == ROW for c in rows.values())


def test_no_amt_suffix_is_one_skip_row(lab):
    by_id, _ = run_checks(load_pem(lab.pem("good.pem", "issuing.pem", "root.pem")), mid_life(lab, "good.pem"), ())
    rows = [c for i, c in by_id.items() if i.startswith("pki.provisioning.suffix")]
    assert len(rows) == 1 and rows[0]["status"] == "skip" and "no AMT" in rows[0]["evidence"]


def test_a_certificate_without_an_fqdn_fails_the_suffix_check(lab):
    # the issuing CA's certificate names no DNS name: no FQDN to compare
    bundle = load_pem(lab.pem("issuing.pem", "root.pem"))
    by_id, facts = run_checks(bundle, mid_life(lab, "issuing.pem"))
    assert facts["fqdn"] is None
    assert by_id["pki.provisioning.suffix.lab.example"]["status"] == "fail"


@pytest.mark.parametrize(
    ("has_key", "status"), [(True, "pass"), (False, "fail"), (None, "skip")], ids=["present", "absent", "unknown"]
)
def test_the_private_key_check(lab, has_key, status):
    ders = [lab.der("good.pem"), lab.der("issuing.pem"), lab.der("root.pem")]
    by_id, _ = run_checks(load_der_chain(ders, has_key), mid_life(lab, "good.pem"))
    row = by_id["pki.provisioning.private_key"]
    assert row["status"] == status and WHERE in row["evidence"]
    assert bool(row["remedy"]) is (status == "fail")


def test_a_pkcs12_bundle_passes_with_its_key(lab):
    by_id, _ = run_checks(load_pkcs12(lab.bytes("good.p12"), P12_PASSWORD), mid_life(lab, "good.pem"))
    assert {c["status"] for c in by_id.values()} == {"pass"}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"amt_suffixes": "lab.example"}, "amt_suffixes"), ({"now": "2024-01-01"}, "now must be a datetime")],
)
def test_bad_arguments_are_value_errors(lab, kwargs, message):
    args = {"amt_suffixes": [], "now": datetime.datetime(2024, 1, 1), "where": WHERE} | kwargs
    with pytest.raises(ValueError, match=message):
        check_provisioning_certificate(load_pem(lab.bytes("good.pem")), **args)
