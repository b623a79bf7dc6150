"""network.nft without nft: what a candidate may contain, the transaction, normalized listings and the plan."""

from __future__ import annotations

import pytest
from ansible_collections.oob.prep.plugins.module_utils.network.nft import (
    check_content,
    normalize,
    plan,
    statements,
    transaction,
)

TABLE = """# a comment { with a brace
define amt = 203.0.113.0/24
table inet oob_prep {
\tchain forward {
\t\ttype filter hook forward priority filter; policy accept;
\t\tip saddr $amt tcp dport 9971 accept comment "a } brace # not a comment"
\t}
}
"""


def test_statements_keep_blocks_whole_and_drop_comments():
    found = statements(TABLE)
    assert len(found) == 2
    assert found[0] == "define amt = 203.0.113.0/24"
    assert found[1].startswith("table inet oob_prep {") and found[1].endswith("}")
    assert 'comment "a } brace # not a comment"' in found[1]


def test_the_table_it_is_for_is_accepted():
    check_content(TABLE, "inet", "oob_prep")
    check_content(TABLE + "table inet oob_prep { set s { type ipv4_addr; } }\n", "inet", "oob_prep")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("flush ruleset\n" + TABLE, "found: flush ruleset"),
        (TABLE + "delete table ip nat\n", "found: delete table ip nat"),
        ('include "/etc/nftables.d/*.nft"\n' + TABLE, "found: include"),
        (TABLE + "table ip nat { }\n", "content defines table ip nat"),
        (TABLE.replace("table inet oob_prep", "table oob_prep"), "content defines table ip oob_prep"),
        (TABLE + "add rule inet other c drop\n", "found: add rule inet other c drop"),
        ("# nothing\n", "content does not define table inet oob_prep"),
        ("", "content is empty"),
        (TABLE + "}\n", "without its '{'"),
        ("table inet oob_prep {\n", "without its '}'"),
        ('table inet oob_prep { comment "x }\n', "unterminated string"),
    ],
)
def test_anything_else_is_refused(text, message):
    with pytest.raises(ValueError) as err:
        check_content(text, "inet", "oob_prep")
    assert message in str(err.value)


@pytest.mark.parametrize(("family", "name"), [("inet6", "t"), ("inet", "bad name"), ("inet", "")])
def test_bad_names(family, name):
    with pytest.raises(ValueError):
        transaction(family, name, TABLE)


def test_transaction_creates_then_deletes_then_defines():
    assert transaction("inet", "oob_prep", "table inet oob_prep {}\n\n").splitlines() == [
        "table inet oob_prep {}",
        "delete table inet oob_prep",
        "table inet oob_prep {}",
    ]


def test_normalize_drops_stateful_values_and_trailing_spaces():
    live = (
        "table inet t {\n\tset s {\n\t\ttype ipv4_addr\n\t\tflags timeout\n"
        "\t\telements = { 192.0.2.1 expires 9s, 192.0.2.2 expires 1m2s }\n\t}\n\n"
        "\tchain c {\n\t\tip saddr @s counter packets 12 bytes 3456 drop   \n"
        "\t\tquota over 10 mbytes used 123 bytes drop\n\t}\n}\n"
    )
    assert normalize(live) == (
        "table inet t {\n\tset s {\n\t\ttype ipv4_addr\n\t\tflags timeout\n"
        "\t\telements = { 192.0.2.1, 192.0.2.2 }\n\t}\n\n"
        "\tchain c {\n\t\tip saddr @s counter drop\n\t\tquota over 10 mbytes drop\n\t}\n}\n"
    )
    assert normalize(None) == "" and normalize("") == ""


def test_plan():
    want = "table inet t {\n\tchain c {\n\t\tcounter packets 0 bytes 0 accept\n\t}\n}\n"
    same = want.replace("packets 0 bytes 0", "packets 99 bytes 5000")
    assert plan(want, None) == {"changed": True, "before": "", "after": normalize(want), "action": "replace"}
    assert plan(want, same)["changed"] is False and plan(want, same)["action"] is None
    drift = plan(want, want.replace("accept", "drop"))
    assert drift["changed"] is True and "drop" in drift["before"] and "accept" in drift["after"]
    assert plan("", same, "absent") == {"changed": True, "before": normalize(same), "after": "", "action": "delete"}
    assert plan("", None, "absent")["changed"] is False
    with pytest.raises(ValueError, match="state must be present or absent"):
        plan(want, None, "latest")
