"""dhcp.backends without a server: which backend the parameters name, and one read and plan with a stand-in
backend. With Kea and Windows stand-ins, through main(): tests/unit/plugins/modules/test_dhcp_scope_main.py."""

from __future__ import annotations

import pytest
from ansible_collections.oob.prep.plugins.module_utils.dhcp.backends import make_backend, read_and_plan
from ansible_collections.oob.prep.plugins.module_utils.dhcp.kea import KeaBackend
from ansible_collections.oob.prep.plugins.module_utils.dhcp.plan import missing_scopes


def test_kea_needs_a_socket_or_a_url_and_windows_a_host():
    with pytest.raises(ValueError, match="give kea.control_socket"):
        make_backend({"backend": "kea", "kea": {}})
    with pytest.raises(ValueError, match="give windows.host"):
        make_backend({"backend": "windows", "windows": {}})


def test_kea_sockets_or_one_url_for_both_daemons():
    local = make_backend({"backend": "kea", "kea": {"control_socket": "/run/kea/kea4.sock"}})
    assert isinstance(local, KeaBackend) and local.d2 is None and local.server == "dhcp4 at /run/kea/kea4.sock"
    agent = make_backend({"backend": "kea", "kea": {"url": "https://kea:8000/", "username": "oob"}})
    assert agent.dhcp4.url == agent.d2.url == "https://kea:8000/" and agent.d2.service == "d2"
    assert agent.dhcp4._url_options["force_basic_auth"] is True


class StandIn:
    """A backend that reads one scope of two and wants one setting of it."""

    def read(self, scopes):
        return ({"10.0.0.0/24": {"exists": True}, "10.0.1.0/24": {"exists": False}},
                {"10.0.0.0/24": {"option_015": "old.example"}})  # fmt: skip

    def desired(self, scopes):
        return {s["network"]: {"option_015": "lab.example"} for s in scopes}


def test_read_and_plan_wants_only_what_exists_and_names_the_missing_scope():
    scopes = [{"network": "10.0.0.0/24"}, {"network": "10.0.1.0/24"}]
    planned = read_and_plan(StandIn(), scopes)
    assert planned["desired"] == {"10.0.0.0/24": {"option_015": "lab.example"}}
    assert planned["changes"] == [{"target": "10.0.0.0/24", "key": "option_015", "before": "old.example",
                                   "after": "lab.example"}]  # fmt: skip
    assert missing_scopes(scopes, planned["state"]) == ["10.0.1.0/24"]
