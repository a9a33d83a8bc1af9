from __future__ import annotations

import pytest
from cryptography import x509

from tests.settings_app.email import smtp_servers


@pytest.fixture(scope="session")
def certs(tmp_path_factory):
    """A self-signed certificate for 127.0.0.1 (trusted only through a CA bundle) and one for another name."""
    d = tmp_path_factory.mktemp("smtp-certs")
    import ipaddress

    good = smtp_servers.self_signed(d, "mail-test-ca", [x509.DNSName("localhost"),
                                                         x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])
    other = smtp_servers.self_signed(d, "elsewhere", [x509.DNSName("elsewhere.example")])
    return {"good": good, "other": other}


@pytest.fixture
def smtp_server():
    started = []

    def start(mode, *, tls=None, auth=False):
        server = smtp_servers.start(mode, tls=tls, auth=auth)
        started.append(server)
        return server

    yield start
    for server in started:
        server.controller.stop()


@pytest.fixture
def silent_server():
    server = smtp_servers.SilentServer()
    yield server
    server.close()
