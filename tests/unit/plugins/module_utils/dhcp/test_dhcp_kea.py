"""dhcp.kea without a Kea daemon: the configuration hash, option inheritance in a Kea configuration, and the
candidate configuration (only the planned settings replaced). Against a stand-in control socket, through the modules'
main(), they are in tests/unit/plugins/modules/test_dhcp_scope_main.py."""

from __future__ import annotations

import copy

import pytest
from ansible_collections.oob.prep.plugins.module_utils.dhcp.kea import (
    KeaBackend,
    KeaClient,
    config_hash,
    kea_option_levels,
)
from ansible_collections.oob.prep.plugins.module_utils.dhcp.plan import effective_option

SUBNET = {"id": 1, "subnet": "203.0.113.0/24", "option-data": [{"code": 3, "data": "203.0.113.1"}]}


def test_config_hash_does_not_depend_on_key_order():
    assert config_hash({"a": 1, "b": [1, 2]}) == config_hash({"b": [1, 2], "a": 1})
    assert config_hash({"a": 1}) != config_hash({"a": 2})


def test_a_client_needs_a_socket_or_a_url():
    with pytest.raises(ValueError, match="give the d2 control socket or the kea-ctrl-agent url"):
        KeaClient(service="d2")
    assert KeaClient(url="https://kea:8000/", service="d2").where == "d2 at https://kea:8000/"


@pytest.mark.parametrize(("code", "reason"), [(401, "Unauthorized"), (403, "Forbidden")])
def test_refused_credentials_name_the_options_and_never_the_password(code, reason):
    import urllib.error

    from ansible_collections.oob.prep.plugins.module_utils.dhcp.plan import OobDhcpError

    password = "S3cret-kea-pw"
    sent = {}

    def open_url(url, **kwargs):  # what kea-ctrl-agent answers a client it does not know (RFC 7235 section 3.1)
        sent.update(kwargs)
        raise urllib.error.HTTPError(url, code, reason, {}, None)

    client = KeaClient(url="https://kea:8000/", open_url=open_url,
                       url_options={"url_username": "oob-prep", "url_password": password})  # fmt: skip
    with pytest.raises(OobDhcpError) as caught:
        client.command("config-get")
    assert sent["url_password"] == password  # it was sent, and is not told back
    assert caught.value.kind == "auth" and password not in str(caught.value)
    assert f"HTTP {code} {reason}" in str(caught.value) and "kea.username and kea.password" in str(caught.value)


def test_option_levels_go_subnet_shared_network_global_and_name_the_classes():
    subnet = copy.deepcopy(SUBNET)
    dhcp4 = {
        "option-data": [{"name": "domain-name", "data": "global.example"}],
        "shared-networks": [{"name": "amt", "option-data": [{"code": 15, "data": "shared.example"}],
                             "subnet4": [subnet]}],
        "client-classes": [{"name": "vpro", "option-data": [{"name": "domain-name", "data": "class.example"}]}],
    }  # fmt: skip
    levels, classes = kea_option_levels(dhcp4, subnet, 15, "domain-name")
    assert levels == [("the subnet", None), ("the shared-network amt", "shared.example"),
                      ("the global level", "global.example")]  # fmt: skip
    assert classes == [("class vpro", "class.example")]
    assert effective_option(levels, classes)[:2] == ("shared.example", "the shared-network amt")
    assert effective_option(levels, classes, copy_inherited=True)[:2] == (None, None)


def test_the_candidate_replaces_only_the_planned_settings_and_leaves_the_read_alone():
    backend = KeaBackend(KeaClient(socket_path="/nonexistent/kea4"), None, None)
    backend.configs = {"dhcp4": {"Dhcp4": {"subnet4": [copy.deepcopy(SUBNET)], "valid-lifetime": 4000}}}
    read = copy.deepcopy(backend.configs)
    changes = [
        {"target": "203.0.113.0/24", "key": "option 15 domain-name", "before": None, "after": "lab.example"},
        {"target": "203.0.113.0/24", "key": "ddns-send-updates", "before": None, "after": True},
        {"target": "dhcp4", "key": "dhcp-ddns server", "before": "127.0.0.1:53001", "after": "127.0.0.1:53002"},
    ]
    config = backend.candidate("dhcp4", changes)
    assert backend.configs == read
    subnet = config["Dhcp4"]["subnet4"][0]
    assert subnet["option-data"] == [
        {"code": 3, "data": "203.0.113.1"},
        {"name": "domain-name", "code": 15, "space": "dhcp4", "csv-format": True, "data": "lab.example"},
    ]
    assert subnet["ddns-send-updates"] is True and config["Dhcp4"]["valid-lifetime"] == 4000
    assert config["Dhcp4"]["dhcp-ddns"] == {"server-ip": "127.0.0.1", "server-port": 53002}
