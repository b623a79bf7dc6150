# Copyright: oob-prep contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure planning for the AMT container's access control entries. No I/O, no Ansible.

The ACEs this project owns on the container (everything else in the DACL belongs to someone else):

full_control (what ConfigMgr documents: "full control ... to the container and all of its child objects")
    (A;CI;CCDCLCSWRPWPDTLOCRSDRCWDWO;;;<site server>)
least_privilege (create and delete computer objects here, full control on descendant computer objects only)
    (OA;;CCDC;<computer>;;<site server>)
    (OA;CIIO;CCDCLCSWRPWPDTLOCRSDRCWDWO;;<computer>;<site server>)
protection from accidental deletion (what Active Directory Users and Computers sets)
    (D;;DTSD;;;WD)
"""

from __future__ import annotations

from ansible_collections.oob.prep.plugins.module_utils.ldap.security_descriptor import (
    ACCESS_ALLOWED,
    ACCESS_ALLOWED_OBJECT,
    ACCESS_DENIED,
    CONTAINER_INHERIT,
    CREATE_CHILD,
    DELETE,
    DELETE_CHILD,
    DELETE_TREE,
    FULL_CONTROL,
    GUID_COMPUTER_CLASS,
    INHERIT_ONLY,
    Ace,
    plan_owned_aces,
)

EVERYONE = "S-1-1-0"

# The write token (see oob_ldap.Session.modify_guarded): a value of the container's multi-valued extensionName that
# counts the DACL writes made by this project, so that two concurrent runs cannot overwrite each other's ACEs.
TOKEN_ATTRIBUTE = "extensionName"
TOKEN_PREFIX = "oob-prep:dacl-serial:"
RIGHTS_MODES = ("full_control", "least_privilege")


def rights_aces(sid: str, rights: str) -> list[Ace]:
    """The allow ACEs that give ``sid`` the ``rights`` mode on the container."""
    if rights == "full_control":
        return [Ace(ACCESS_ALLOWED, CONTAINER_INHERIT, FULL_CONTROL, sid)]
    if rights == "least_privilege":
        return [
            Ace(ACCESS_ALLOWED_OBJECT, 0, CREATE_CHILD | DELETE_CHILD, sid, object_type=GUID_COMPUTER_CLASS),
            Ace(ACCESS_ALLOWED_OBJECT, CONTAINER_INHERIT | INHERIT_ONLY, FULL_CONTROL, sid,
                inherited_object_type=GUID_COMPUTER_CLASS),
        ]  # fmt: skip
    raise ValueError(f"rights must be one of {', '.join(RIGHTS_MODES)}, not {rights!r}")


def protection_ace() -> Ace:
    """Deny Delete and Delete-tree to Everyone on the object itself."""
    return Ace(ACCESS_DENIED, 0, DELETE | DELETE_TREE, EVERYONE)


def plan_dacl(aces: list[Ace], sid: str, rights: str, state: str, protect: bool | None) -> dict:
    """Plan the DACL: returns {'aces': new list, 'added': [Ace], 'removed': [Ace]}.

    state=present: the ACEs of ``rights`` for ``sid`` are ensured (an existing explicit ACE that grants at least as
    much counts); our ACEs of the other mode are removed. state=absent: our ACEs of both modes are removed.
    protect=True ensures the deny-delete ACE, False removes exactly it, None leaves it alone.
    Only ACEs of exactly our shapes are ever removed; new ACEs go where Windows' canonical order puts them.
    """
    if state not in ("present", "absent"):
        raise ValueError(f"state must be present or absent, not {state!r}")
    wanted = rights_aces(sid, rights) if state == "present" else []
    ours = [ace for mode in RIGHTS_MODES for ace in rights_aces(sid, mode)]
    unwanted = [ace for ace in ours if ace not in wanted]
    if protect is True:
        wanted.append(protection_ace())
    elif protect is False:
        unwanted.append(protection_ace())

    return plan_owned_aces(aces, wanted, unwanted)


def read_token(values: list) -> str | None:
    """Our token among the attribute's values (bytes or str), or None."""
    for value in values or []:
        text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
        if text.startswith(TOKEN_PREFIX):
            return text
    return None


def next_token(token: str | None) -> str:
    """The token to write after ``token``: its serial plus one."""
    serial = 0
    if token:
        try:
            serial = int(token[len(TOKEN_PREFIX) :])
        except ValueError:
            serial = 0
    return f"{TOKEN_PREFIX}{serial + 1}"


def explicit_sddl_lines(aces: list[Ace] | None) -> str:
    """The explicit ACEs as SDDL, one per line (inherited ACEs cannot be changed here and are left out)."""
    return "".join(ace.to_sddl() + "\n" for ace in aces or [] if not ace.is_inherited)
