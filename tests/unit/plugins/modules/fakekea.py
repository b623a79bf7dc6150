"""A stand-in for a Kea daemon's unix control socket, for unit tests of the modules' main() without the lab.

It speaks the control channel as Kea documents it (one JSON request per connection, ``{"result", "text",
"arguments"}`` back, then close) for config-get, config-test, config-set and config-write, and records every command.
config-test answers 1 with ``refuse_test`` set, as Kea does for a configuration it cannot load.
"""

from __future__ import annotations

import copy
import json
import socket
import threading


class FakeKea:
    def __init__(self, path: str, config: dict):
        self.path, self.config, self.commands, self.refuse_test, self.written = (
            path,
            copy.deepcopy(config),
            [],
            None,
            None,
        )
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.bind(path)
        self.sock.listen(8)
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                data = b""
                while True:
                    chunk = conn.recv(65536)
                    data += chunk
                    try:
                        request = json.loads(data)
                        break
                    except ValueError:
                        if not chunk:
                            request = None
                            break
                conn.sendall(json.dumps(self.answer(request)).encode())

    def answer(self, request: dict | None) -> dict:
        if request is None:
            return {"result": 1, "text": "invalid JSON"}
        command = request.get("command")
        self.commands.append(command)
        handler = getattr(self, "_" + str(command).replace("-", "_"), None)
        return handler(request) if handler else {"result": 2, "text": f"'{command}' command not supported."}

    def _config_get(self, _request):
        return {"result": 0, "arguments": copy.deepcopy(self.config)}

    def _config_test(self, _request):
        if self.refuse_test:
            return {"result": 1, "text": self.refuse_test}
        return {"result": 0, "text": "Configuration seems sane."}

    def _config_set(self, request):
        self.config = copy.deepcopy(request["arguments"])
        return {"result": 0, "text": "Configuration successful."}

    def _config_write(self, _request):
        self.written = copy.deepcopy(self.config)
        return {"result": 0, "text": "Configuration written.", "arguments": {"filename": "kea.json", "size": 1}}

    def close(self):
        self.sock.close()


def handover_dhcp4() -> dict:
    """A kea-dhcp4 configuration as the lab hands it over (a router option, a reservation, no 6/15, no DDNS)."""
    return {"Dhcp4": {
        "subnet4": [
            {"id": 1, "subnet": "203.0.113.0/24", "pools": [{"pool": "203.0.113.100 - 203.0.113.199"}],
             "option-data": [{"name": "routers", "code": 3, "space": "dhcp4", "csv-format": True,
                              "data": "203.0.113.1", "always-send": False}],
             "reservations": [{"hw-address": "02:00:00:00:00:42", "ip-address": "203.0.113.42"}]},
            {"id": 2, "subnet": "192.0.2.0/24", "option-data": [{"name": "domain-name", "code": 15,
                                                                 "data": "other.example"}]},
        ],
        "dhcp-ddns": {"enable-updates": False, "server-ip": "127.0.0.1", "server-port": 53001},
    }}  # fmt: skip


def handover_d2() -> dict:
    return {"DhcpDdns": {"ip-address": "127.0.0.1", "port": 53001, "tsig-keys": [],
                         "forward-ddns": {"ddns-domains": []}, "reverse-ddns": {"ddns-domains": []}}}  # fmt: skip
