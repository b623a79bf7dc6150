# Copyright: oob-prep contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The estate, validated and normalised once: the logic of the action plugin ``oob.prep.estate``.

The estate's keys, types and defaults are written once, in ``roles/oob_estate/meta/argument_specs.yml`` (its entry
point ``main``); the caller loads that file and hands its ``options`` here, so there is no second copy of them in
Python. ``check_estate`` validates the estate variables against it with ansible-core's ``ArgumentSpecValidator``
(which fills every default), adds what a spec cannot say (the cross-field checks, the variables the estate does not
know, the inventory against the estate's Windows hosts) and derives, once, the values the playbooks hand to the
roles. Every problem is reported, each naming the variable; the values of ``no_log`` options are masked in them.

Pure: no Ansible executor, no I/O but reading ``oob_ldap.ca_file`` (it must exist on the controller).
"""

from __future__ import annotations

import copy
import difflib
import os
import re
from collections.abc import Callable, Mapping

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.common.parameters import remove_values
from ansible_collections.oob.prep.plugins.module_utils.estate.hosts import estate_hosts, inventory_problems

SPEC_FILE = "roles/oob_estate/meta/argument_specs.yml"
# oob_* variables that are not estate keys and are still not mistakes: set by the inventory plugin oob_estate, or
# given as extra vars by scripts/verify and scripts/remediate
OTHER_KNOWN = ("oob_windows_roles", "oob_verify_outcome_file", "oob_remediate_outcome_file",
               "oob_remediate_fail_not_fixed")  # fmt: skip
# the roles' own variables: the playbooks set them from the estate (playbooks/vars/*.yml), so one set in the inventory
# or as an extra var would be silently overridden (or, as an extra var, would override the estate)
ROLE_VARIABLE = re.compile(r"^oob_(ad_container|pki_templates|pki_ca_windows|dns|dhcp|network|amt_devices|report)_")
# what the plugin returns (``estate``; the role sets them with set_fact): a later validation in the run finds them
FACTS = ("oob_estate_checked", "oob_estate_amt_container", "oob_estate_amt_templates", "oob_estate_dns",
         "oob_estate_amt_discovery", "oob_estate_network", "oob_estate_dhcp", "oob_estate_reports",
         "oob_estate_amt_suffixes", "oob_estate_site_domain", "oob_estate_provisioning_certificate")  # fmt: skip
# AD's limit for the RDN of an OU or container (1 to 64 characters, no leading or trailing space)
CONTAINER_NAME = re.compile(r"^[^\s].{0,62}[^\s]$|^[^\s]$")
MASK = "********"


def spec_options(argument_specs: Mapping) -> dict:
    """The estate's option spec from the parsed ``argument_specs.yml`` (entry point ``main``)."""
    try:
        options = argument_specs["argument_specs"]["main"]["options"]
    except (KeyError, TypeError):
        raise ValueError(f"{SPEC_FILE} has no argument_specs.main.options") from None
    if not isinstance(options, Mapping) or not options:
        raise ValueError(f"{SPEC_FILE}: argument_specs.main.options is empty")
    return dict(options)


def variable_problems(names, options: Mapping) -> list[str]:
    """The ``oob_*`` variables among ``names`` (the inventory's and the extra vars') the estate does not take."""
    names = sorted(name for name in names if isinstance(name, str) and name.startswith("oob_"))
    known = set(options) | set(OTHER_KNOWN)
    role_vars = [name for name in names if name not in known and ROLE_VARIABLE.match(name)]
    problems = []
    if role_vars:
        problems.append(f"role variable(s) {', '.join(role_vars)} are set in the inventory or as extra vars, where "
                        "the playbooks would silently override them: set the estate variables instead "
                        "(roles/oob_estate/meta/argument_specs.yml)")  # fmt: skip
    for name in names:
        if name in known or name in role_vars:
            continue
        close = difflib.get_close_matches(name, sorted(options), n=1, cutoff=0.75)
        hint = f" (did you mean {close[0]}?)" if close else ""
        problems.append(f"unknown variable {name}{hint}: the estate has no such key (the keys are in "
                        "roles/oob_estate/meta/argument_specs.yml; ansible-doc -t role oob.prep.oob_estate): a "
                        "misspelt one would be silently ignored")  # fmt: skip
    return problems


def _d(value) -> dict:
    return value if isinstance(value, Mapping) else {}


def _l(value) -> list:
    return value if isinstance(value, list) else []


def _s(value) -> str:
    return value if isinstance(value, str) else ""


def cross_problems(estate: Mapping, *, path_exists: Callable[[str], bool] = os.path.isfile,
                   read_text: Callable[[str], str] | None = None) -> list[str]:  # fmt: skip
    """What the spec cannot say, on the validated estate (defaults filled). A value of the wrong type was already
    named by the validator: it is skipped here, never a traceback."""
    read_text = read_text or _read_text
    forest, ldap, container = (
        _d(estate.get("oob_forest")),
        _d(estate.get("oob_ldap")),
        _d(estate.get("oob_amt_container")),
    )
    site, service_point = _d(estate.get("oob_site_server")), _d(estate.get("oob_service_point"))
    dns, dhcp = _d(estate.get("oob_dns")), _d(estate.get("oob_dhcp"))
    domains = [d for d in _l(estate.get("oob_domains")) if isinstance(d, Mapping)]
    subnets = [s for s in _l(estate.get("oob_amt_subnets")) if isinstance(s, Mapping)]
    problems = []

    if "servers" in forest and not _l(forest.get("servers")):
        problems.append("oob_forest.servers lists no DC: list the forest root's DCs")
    problems.extend(f"oob_domains: {d.get('dns_name')} lists no DC in servers" for d in domains
                    if "servers" in d and not _l(d.get("servers")))  # fmt: skip
    names = [_s(d.get("dns_name")).lower() for d in domains]
    if "oob_domains" in estate and not domains:
        problems.append("oob_domains lists no domain: list every domain that holds AMT computers")
    if len(set(names)) != len(names):
        problems.append("oob_domains lists a domain twice: " + ", ".join(names))
    forest_name = _s(forest.get("dns_name"))
    if forest_name and site:
        site_domain = (_s(site.get("domain")) or forest_name).lower()
        if site_domain not in [forest_name.lower(), *names]:
            problems.append(f"oob_site_server.domain {site_domain} is neither oob_forest.dns_name ({forest_name}) nor "
                            f"one of oob_domains ({', '.join(names)})")  # fmt: skip

    if ldap:
        if ldap.get("auth") == "simple" and not (ldap.get("bind_user") and ldap.get("bind_password")):
            problems.append("oob_ldap.auth is simple, so oob_ldap.bind_user and oob_ldap.bind_password are needed (or "
                            "use kerberos)")  # fmt: skip
        if ldap.get("tls") == "none" and not ldap.get("allow_plain"):
            problems.append("oob_ldap.tls is none, which sends LDAP in clear text: set oob_ldap.allow_plain: true to "
                            "do it anyway")  # fmt: skip
        ca_file = _s(ldap.get("ca_file"))
        if ca_file and not path_exists(ca_file):
            problems.append(f"oob_ldap.ca_file {ca_file} does not exist (on the controller): give the PEM file of "
                            "the CA that issued the DCs' certificates, or omit ca_file to use the system store"
                            )  # fmt: skip
        elif ca_file and "-----BEGIN CERTIFICATE-----" not in read_text(ca_file):
            problems.append(f"oob_ldap.ca_file {ca_file} holds no PEM certificate (-----BEGIN CERTIFICATE-----)")

    if "path" in container:
        path = _l(container.get("path"))
        problems.extend(f'oob_amt_container.path: "{name}" is not a name AD accepts for an OU or container (1 to 64 '
                        "characters, no leading or trailing space)"
                        for name in path if not (isinstance(name, str) and CONTAINER_NAME.match(name)))  # fmt: skip
        if not path:
            problems.append("oob_amt_container.path is empty: name the container, e.g. [AMT Computers]")

    if ":" in str(service_point.get("ipv4") or ""):
        problems.append(f"oob_service_point.ipv4 {service_point['ipv4']} is an IPv6 address: out of band management "
                        "is IPv4 only")  # fmt: skip
    if dns.get("backend") == "windows" and not dns.get("windows_server"):
        problems.append("oob_dns.backend is windows, so oob_dns.windows_server must name the Windows DNS server")

    networks = [s.get("network") for s in subnets]
    for var in ("oob_dhcp_probe_hosts", "oob_amt_path_probe_hosts"):
        problems.extend(f"{var}: network {probe.get('network')} is not one of oob_amt_subnets"
                        for probe in _l(estate.get(var))
                        if isinstance(probe, Mapping) and probe.get("network") not in networks)  # fmt: skip
    if dhcp.get("backend") == "windows" and not _d(dhcp.get("windows")).get("host"):
        problems.append("oob_dhcp.backend is windows, so oob_dhcp.windows.host must name the Windows DHCP server")
    kea = _d(dhcp.get("kea"))
    if subnets and dhcp.get("backend") == "kea" and not kea.get("control_socket") and not kea.get("url"):
        problems.append("oob_dhcp.backend is kea, so oob_dhcp.kea needs control_socket (kea-dhcp4) or url "
                        "(kea-ctrl-agent)")  # fmt: skip
    cert = _d(estate.get("oob_provisioning_certificate"))
    if cert.get("file") and cert.get("windows_store"):
        problems.append("oob_provisioning_certificate: give file or windows_store, not both")
    if cert.get("windows_store") and not service_point.get("windows"):
        problems.append("oob_provisioning_certificate.windows_store reads the service point's store over WinRM, so "
                        "oob_service_point.windows must be true (or give the exported file instead)")  # fmt: skip
    if cert.get("expiry_warn_days", 0) < 0:
        problems.append("oob_provisioning_certificate.expiry_warn_days must be 0 or more")
    return problems


def _read_text(path: str) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.read()
    except OSError as exc:
        return f"({exc})"


def inventory_check(estate: Mapping, groups: Mapping, roles_of: Callable[[str], object]) -> list[str]:
    """The inventory against the estate's Windows hosts (module_utils/estate/hosts.py, as the inventory plugin)."""
    hosts_estate = {
        "oob_service_point": _d(estate.get("oob_service_point")),
        "oob_consoles": [c for c in _l(estate.get("oob_consoles")) if isinstance(c, Mapping)],
        "oob_enterprise_ca": _d(estate.get("oob_enterprise_ca")),
        "oob_dns": _d(estate.get("oob_dns")),
    }
    try:
        expected = estate_hosts(hosts_estate)
    except ValueError as exc:
        return [str(exc)]
    known = set(groups.get("all") or [])
    return inventory_problems(expected, groups, {name: roles_of(name) for name in expected if name in known})


def _pruned(value):
    """The validator's output without the options nobody gave and that have no default (None)."""
    if isinstance(value, Mapping):
        return {key: _pruned(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [_pruned(item) for item in value]
    return value


def derived_facts(estate: Mapping) -> dict:
    """The values every playbook hands to the roles, derived once from the validated estate."""
    forest = _d(estate["oob_forest"])
    site_domain = (_s(_d(estate["oob_site_server"]).get("domain")) or forest["dns_name"]).lower()
    if site_domain == forest["dns_name"].lower():
        site = {"dns_name": forest["dns_name"], "servers": forest["servers"]}
    else:
        site = next(d for d in estate["oob_domains"] if _s(d.get("dns_name")).lower() == site_domain)
    dns = _pruned(estate["oob_dns"])
    dns.setdefault("server", forest["servers"][0])
    suffixes: list[str] = []
    for subnet in estate["oob_amt_subnets"]:
        suffix = _s(subnet.get("domain_name")).lower()
        if suffix and suffix not in suffixes:
            suffixes.append(suffix)
    return {
        "oob_estate_checked": True,
        "oob_estate_amt_container": _pruned(estate["oob_amt_container"]),
        "oob_estate_amt_templates": _pruned(estate["oob_amt_templates"]),
        "oob_estate_dns": dns,
        "oob_estate_amt_discovery": _pruned(estate["oob_amt_discovery"]),
        "oob_estate_network": _pruned(estate["oob_network"]),
        "oob_estate_dhcp": _pruned(estate["oob_dhcp"]),
        "oob_estate_reports": _pruned(estate["oob_reports"]),
        "oob_estate_amt_suffixes": suffixes,
        "oob_estate_site_domain": _pruned(site),
        "oob_estate_provisioning_certificate": _pruned(estate["oob_provisioning_certificate"]),
    }


def mask(messages: list[str], no_log_values) -> list[str]:
    """The messages with every value of a no_log option (passwords, TSIG secrets) replaced by ********."""
    secrets = {str(value) for value in no_log_values if value not in (None, "") and str(value)}
    masked = remove_values(list(messages), secrets) if secrets else list(messages)
    for secret in sorted(secrets, key=len, reverse=True):  # remove_values masks whole values; also parts of a message
        masked = [message.replace(secret, MASK) for message in masked]
    return masked


def check_estate(options: Mapping, values: Mapping, *, variable_names=None, groups: Mapping | None = None,
                 roles_of: Callable[[str], object] | None = None, path_exists: Callable[[str], bool] = os.path.isfile,
                 read_text: Callable[[str], str] | None = None) -> tuple[list[str], dict]:  # fmt: skip
    """``(problems, facts)``: every problem of the estate (masked), and, when there is none, the derived facts.

    ``options``: the spec (``spec_options``); ``values``: the estate variables that are set (templated);
    ``variable_names``: the names set in the inventory and as extra vars (None: not checked, a later validation in a
    run that already checked them); ``groups`` and ``roles_of``: the inventory (None: not checked).
    """
    given = {name: copy.deepcopy(values[name]) for name in options if name in values}
    result = ArgumentSpecValidator(dict(options)).validate(given)
    estate = result.validated_parameters
    problems = list(result.error_messages)
    if variable_names is not None:
        problems.extend(variable_problems(variable_names, options))
    problems.extend(cross_problems(estate, path_exists=path_exists, read_text=read_text))
    if groups is not None and roles_of is not None:
        problems.extend(inventory_check(estate, groups, roles_of))
    if problems:
        return mask(problems, result._no_log_values), {}  # pylint: disable=protected-access
    return [], derived_facts(estate)
