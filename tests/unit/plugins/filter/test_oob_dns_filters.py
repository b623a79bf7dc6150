"""The oob_dns_by_server filter."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[4] / "plugins" / "filter"))

from oob_dns_filters import oob_dns_by_server  # noqa: E402

DC1, DC2 = {"host": "dc1.corp.example"}, {"host": "dc1.emea.corp.example", "address": "192.0.2.9"}


def test_suffixes_are_grouped_by_server_in_first_seen_order():
    got = oob_dns_by_server(["corp.example", "emea.corp.example", "lab.corp.example"], DC1,
                            {"EMEA.corp.example.": DC2})  # fmt: skip
    assert got == [
        {"server": DC1, "suffixes": ["corp.example", "lab.corp.example"]},
        {"server": DC2, "suffixes": ["emea.corp.example"]},
    ]


def test_a_suffix_without_a_server_is_an_error():
    with pytest.raises(ValueError, match="no DNS server for suffix corp.example"):
        oob_dns_by_server(["corp.example"], {}, {})
