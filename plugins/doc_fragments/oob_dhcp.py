# Copyright: oob-prep contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The AMT subnets' DHCP scopes and the server that holds them, shared by dhcp_scope and dhcp_scope_info."""

from __future__ import annotations


class ModuleDocFragment:  # pylint: disable=too-few-public-methods
    DOCUMENTATION = r"""
options:
  backend:
    description:
      - V(kea) talks to kea-dhcp4 and kea-dhcp-ddns through their control sockets or kea-ctrl-agent (O(kea)).
      - V(windows) talks to a Windows DHCP Server over WinRM (O(windows)) - the DhcpServer cmdlets on Windows Server
        2012 and later, C(netsh dhcp) before that.
    type: str
    choices: [kea, windows]
    default: kea
  copy_inherited:
    description:
      - V(false) - options 006 and 015 count as offered when the scope inherits them, and the checks say where the
        value comes from. Kea's order is followed - the subnet's C(option-data), else its shared network's, else the
        global C(Dhcp4.option-data) (C(option 15 domain-name lab.example from the global level)). A Windows DHCP
        Server's - the scope's option value, else the server level's (C(option_015 lab.example from the server
        level); both read with C(Get-DhcpServerv4OptionValue -All), or C(netsh dhcp server [scope <id>] show
        optionvalue) before Windows Server 2012). Nothing is copied down to the scope; an inherited value that differs
        from the estate's is set on the scope (the scope's value wins over the inherited one for that scope only; the
        global, shared-network or server-level value is never changed).
      - A Kea client class's C(option-data), a Windows user class's or policy's option value, is offered only to the
        clients it matches (for them it goes ahead of the scope's); AMT devices are not known to be among them, so it
        never counts as offering an option, and a value found only there is a warning naming the class or policy
        (converge then sets it on the scope). A Windows vendor class's options are another option space and are not
        read; nor are reservations (they concern single clients).
      - V(true) - only values set on the scope itself count; inherited ones are copied to the scope.
    type: bool
    default: false
  scopes:
    description: The AMT subnets. Each must already be a scope of the server; it is never created.
    type: list
    elements: dict
    required: true
    suboptions:
      network:
        description: The subnet in CIDR form (IPv4 only).
        type: str
        required: true
      scope_id:
        description: The server's identifier of the scope (Kea's subnet id, Windows' scope id); checked when given.
        type: raw
        aliases: [dhcp_scope_id]
      dns_servers:
        description: Option 006 at scope level, in order (IPv4 only).
        type: list
        elements: str
        required: true
      domain_name:
        description: Option 015 at scope level, the AMT devices' DNS suffix.
        type: str
        required: true
      ddns:
        description: Dynamic DNS updates of the clients' A and PTR records by the DHCP server.
        type: dict
        suboptions:
          enabled:
            description: Manage them (always update A and PTR, also for clients that do not ask).
            type: bool
            default: true
          forward_zone:
            description: The zone of the clients' A records; O(scopes[].domain_name) when omitted.
            type: str
          reverse_zone:
            description: The zone of their PTR records; the network's in-addr.arpa zone (whole octets) when omitted.
            type: str
          servers:
            description: The DNS servers that take the updates (Kea); O(scopes[].dns_servers) when omitted.
            type: list
            elements: str
          port:
            description: Their DNS port.
            type: int
            default: 53
          key:
            description: The TSIG key's name for these zones (Kea); O(tsig.name) when omitted.
            type: str
  tsig:
    description: The TSIG key kea-dhcp-ddns signs its updates with (Kea; Windows uses its own credentials).
    type: dict
    suboptions:
      name:
        description: The key's name.
        type: str
      algorithm:
        description: Its algorithm.
        type: str
        default: hmac-sha256
      secret:
        description: Its secret, base64 (vault). Never shown; diffs show a digest.
        type: str
  kea:
    description: Where Kea listens (O(backend=kea)). Unix control sockets, or kea-ctrl-agent's URL.
    type: dict
    suboptions:
      control_socket:
        description: kea-dhcp4's unix control socket (the module then runs on the DHCP server, or where it is shared).
        type: path
      d2_control_socket:
        description: kea-dhcp-ddns's unix control socket (needed for dynamic DNS with sockets).
        type: path
      url:
        description: kea-ctrl-agent's URL (C(https://dhcp1.example.org:8000/)); commands go to services dhcp4 and d2.
        type: str
      username:
        description: kea-ctrl-agent basic authentication user.
        type: str
      password:
        description: Its password (vault).
        type: str
      ca_file:
        description: CA bundle that validates kea-ctrl-agent's HTTPS certificate.
        type: path
      validate_certs:
        description: Validate kea-ctrl-agent's certificate. Turning it off is for labs only.
        type: bool
        default: true
      timeout:
        description: Seconds to wait for an answer.
        type: float
        default: 10
  windows:
    description: The Windows DHCP Server (O(backend=windows)), reached over WinRM (HTTPS).
    type: dict
    suboptions:
      host:
        description: Its host name (as in its certificate and Kerberos SPN).
        type: str
      port:
        description: WinRM HTTPS port.
        type: int
        default: 5986
      transport:
        description: WinRM authentication.
        type: str
        choices: [kerberos, ntlm, credssp]
        default: kerberos
      username:
        description: The account (a member of DHCP Administrators); the Kerberos ticket cache when omitted.
        type: str
      password:
        description: Its password (vault).
        type: str
      ca_file:
        description: CA bundle that validates the WinRM certificate.
        type: path
      validate_certs:
        description: Validate the WinRM certificate. Turning it off is for labs only.
        type: bool
        default: true
      timeout:
        description: Seconds per WinRM operation.
        type: int
        default: 30
"""
