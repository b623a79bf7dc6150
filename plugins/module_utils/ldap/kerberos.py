# Copyright: oob-prep contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kerberos credentials for the modules that bind with it (LDAP over SASL/GSSAPI, DNS over GSS-TSIG).

Small on purpose: a module that needs only Kerberos imports this, not the LDAP layer.
"""

from __future__ import annotations


class KerberosError(Exception):
    """A failure with a message fit for the user; ``kind`` is 'settings' or 'credentials'."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind


GSS_HINTS = (
    ("preauthentication failed", "check bind_password"),
    ("not found in kerberos database", "check bind_user: an existing account, as user@REALM"),
    (
        "cannot find kdc",
        "set KRB5_CONFIG to a krb5.conf that names the realm's KDCs, or fix its DNS SRV records "
        "(_kerberos._tcp.<domain>)",
    ),
    ("default realm", "give bind_user as user@REALM, or set default_realm in krb5.conf (KRB5_CONFIG)"),
    ("clock skew", "synchronise the controller's clock with the DCs' (NTP)"),
    ("revoked", "the account is disabled or locked out: check it in AD"),
    ("password has expired", "the account's password has expired: change it"),
)


def credentials(user: str | None, password: str | None, needs: str = "Kerberos"):
    """In-memory Kerberos credentials for ``user`` (acquired with its password; no ccache is written), or None to
    use the default ccache when either is missing. Raises KerberosError naming the user and what to check."""
    if not (user and password):
        return None
    try:
        import gssapi  # pylint: disable=import-outside-toplevel
        from gssapi.raw import acquire_cred_with_password  # pylint: disable=import-outside-toplevel
    except ImportError:
        raise KerberosError("settings", f"{needs} needs the Python package gssapi on the controller") from None
    try:
        name = gssapi.Name(user, gssapi.NameType.user)
        return acquire_cred_with_password(name, password.encode("utf-8"), usage="initiate").creds
    except gssapi.exceptions.GSSError as exc:
        detail = gss_message(exc)
        hint = next(
            (h for key, h in GSS_HINTS if key in detail.lower()), "check bind_user, bind_password and KRB5_CONFIG"
        )
        raise KerberosError("credentials", f"Kerberos refused {user}: {detail}; {hint}") from None


def gss_message(exc) -> str:
    """The most specific text of a gssapi error: the Kerberos mechanism's (minor) message, else the generic one."""
    try:
        minor = [m for m in exc.get_all_statuses(exc.min_code, False) if m] if exc.min_code else []
        minor = [m for m in minor if not m.startswith("gss_display_status call returned failure")]
        return "; ".join(minor) or exc.gen_message()
    except Exception:  # pylint: disable=broad-except  # older gssapi: fall back to str()
        return str(exc)
