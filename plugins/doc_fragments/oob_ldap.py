# Copyright: oob-prep contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Connection options shared by the oob-prep LDAP modules (plugins/module_utils/ldap/connection.py)."""

from __future__ import annotations


class ModuleDocFragment:  # pylint: disable=too-few-public-methods
    DOCUMENTATION = r"""
options:
  connection:
    description:
      - How to reach and bind to the domain controllers, as one dict that an environment gives once (the estate's
        C(oob_ldap)). Its keys are the single options below, which win over it when both are given.
    type: dict
    suboptions:
      auth:
        description: See O(auth).
        type: str
        choices: [simple, kerberos]
      bind_user:
        description: See O(bind_user).
        type: str
      bind_password:
        description: See O(bind_password).
        type: str
      tls:
        description: See O(tls).
        type: str
        choices: [ldaps, starttls, none]
      ca_file:
        description: See O(ca_file).
        type: path
      validate_certs:
        description: See O(validate_certs).
        type: bool
      allow_plain:
        description: See O(allow_plain).
        type: bool
      timeout:
        description: See O(timeout).
        type: int
  auth:
    description:
      - How to bind. V(simple) sends O(bind_user) and O(bind_password) (inside TLS).
      - V(kerberos) binds with SASL/GSSAPI inside TLS. It uses the current Kerberos ccache (run C(kinit) first;
        C(KRB5CCNAME) and C(KRB5_CONFIG) are honoured), or, when O(bind_user) and O(bind_password) are given,
        credentials acquired in memory.
      - V(simple) when neither this nor O(connection.auth) is given.
    type: str
    choices: [simple, kerberos]
  bind_user:
    description:
      - The account to bind as, as a user principal name (V(admin@corp.example.com)) or C(DOMAIN\\user).
    type: str
  bind_password:
    description:
      - The password of O(bind_user).
    type: str
  tls:
    description:
      - V(ldaps) connects to port 636 with TLS; V(starttls) upgrades port 389 with StartTLS.
      - V(none) is plain LDAP and is refused unless O(allow_plain=true).
      - V(ldaps) when neither this nor O(connection.tls) is given.
    type: str
    choices: [ldaps, starttls, none]
  ca_file:
    description:
      - A PEM bundle with the CA that issued the domain controllers' certificates. The system store when omitted.
    type: path
  validate_certs:
    description:
      - Check the DC's certificate chain and that its name matches the server's host name (not its address).
      - V(true) when neither this nor O(connection.validate_certs) is given. Turning it off is for tests only.
    type: bool
  allow_plain:
    description:
      - Allow O(tls=none). V(false) when neither this nor O(connection.allow_plain) is given.
    type: bool
  timeout:
    description:
      - Seconds to wait for a DC to connect or answer before trying the next one. 10 when neither this nor
        O(connection.timeout) is given.
    type: int
requirements:
  - ldap3 >= 2.9 on the controller
  - gssapi on the controller for O(auth=kerberos)
"""
