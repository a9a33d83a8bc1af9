"""The SMTP client against real aiosmtpd servers: each protocol, TLS trust, fallback, auth, timeout."""

from __future__ import annotations

from email.message import EmailMessage

import pytest

from settings_app.email import transport
from tests.settings_app.email.smtp_servers import PASSWORD, USER, free_port, server_context


def message(to="ops@example.com"):
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "hub@example.com", to, "hello"
    msg.set_content("body")
    return msg


def steps(result):
    return [(s.name, s.ok) for s in result.steps]


def test_plain_smtp_delivers(smtp_server):
    server = smtp_server("plain")
    config = transport.ServerConfig("127.0.0.1", transport.SMTP, server.port, timeout=5)
    result = transport.send(config, message())
    assert steps(result) == [("connect", True), ("authenticate", True), ("send", True)]
    assert server.inbox.messages[0]["Subject"] == "hello"


def test_starttls_with_ca_bundle_and_login_delivers(smtp_server, certs):
    cert, key, pem = certs["good"]
    server = smtp_server("starttls", tls=server_context(cert, key), auth=True)
    config = transport.ServerConfig("127.0.0.1", transport.STARTTLS, server.port, timeout=5, username=USER,
                                    password=PASSWORD, ca_bundle=pem)
    result = transport.send(config, message())
    assert steps(result) == [("connect", True), ("tls", True), ("authenticate", True), ("send", True)]
    assert "certificate and host name verified" in result.steps[1].message
    assert len(server.inbox.messages) == 1


def test_starttls_untrusted_certificate_names_subject_and_issuer(smtp_server, certs):
    cert, key, _ = certs["good"]
    server = smtp_server("starttls", tls=server_context(cert, key))
    config = transport.ServerConfig("127.0.0.1", transport.STARTTLS, server.port, timeout=5)
    result = transport.check(config)
    assert steps(result) == [("connect", True), ("tls", False)]
    assert "not trusted" in result.failure and "CN=mail-test-ca" in result.failure
    assert "issuer: CN=mail-test-ca" in result.failure and "CA bundle" in result.failure


def test_smtps_self_signed_trusted_through_ca_bundle(smtp_server, certs):
    cert, key, pem = certs["good"]
    server = smtp_server("smtps", tls=server_context(cert, key), auth=True)
    config = transport.ServerConfig("127.0.0.1", transport.SMTPS, server.port, timeout=5, username=USER,
                                    password=PASSWORD, ca_bundle=pem)
    result = transport.send(config, message())
    assert steps(result) == [("connect", True), ("tls", True), ("authenticate", True), ("send", True)]
    assert server.inbox.messages[0]["To"] == "ops@example.com"


def test_smtps_self_signed_untrusted_is_refused(smtp_server, certs):
    cert, key, _ = certs["good"]
    server = smtp_server("smtps", tls=server_context(cert, key))
    config = transport.ServerConfig("127.0.0.1", transport.SMTPS, server.port, timeout=5)
    with pytest.raises(transport.MailError) as raised:
        transport.send(config, message())
    assert raised.value.step == "tls"
    assert "not trusted" in str(raised.value) and "subject: CN=mail-test-ca" in str(raised.value)
    assert server.inbox.messages == []


def test_smtps_host_name_mismatch(smtp_server, certs):
    cert, key, pem = certs["other"]
    server = smtp_server("smtps", tls=server_context(cert, key))
    config = transport.ServerConfig("127.0.0.1", transport.SMTPS, server.port, timeout=5, ca_bundle=pem)
    result = transport.check(config)
    assert result.steps[-1].name == "tls" and not result.ok
    assert "not valid for the host name '127.0.0.1'" in result.failure
    assert "CN=elsewhere" in result.failure


def test_starttls_not_offered_falls_back_to_plain_and_says_so(smtp_server):
    server = smtp_server("plain")
    config = transport.ServerConfig("127.0.0.1", transport.STARTTLS, server.port, timeout=5)
    result = transport.send(config, message())
    assert result.ok
    assert "STARTTLS not offered" in result.steps[1].message and "plain SMTP" in result.steps[1].message
    assert len(server.inbox.messages) == 1


def test_authentication_refused(smtp_server, certs):
    cert, key, pem = certs["good"]
    server = smtp_server("starttls", tls=server_context(cert, key), auth=True)
    config = transport.ServerConfig("127.0.0.1", transport.STARTTLS, server.port, timeout=5, username=USER,
                                    password="wrong-password", ca_bundle=pem)
    result = transport.check(config, message())
    assert steps(result) == [("connect", True), ("tls", True), ("authenticate", False)]
    assert "Authentication refused for 'mailer'" in result.failure and "535" in result.failure
    assert "wrong-password" not in result.failure
    assert server.inbox.messages == []


def test_silent_server_times_out_with_the_bound_named(silent_server):
    config = transport.ServerConfig("127.0.0.1", transport.SMTP, silent_server.port, timeout=1)
    result = transport.check(config)
    assert steps(result) == [("connect", False)]
    assert "did not answer within 1 s" in result.failure


def test_refused_connection():
    port = free_port()  # bound and released: nothing listens there
    result = transport.check(transport.ServerConfig("127.0.0.1", transport.SMTP, port, timeout=2))
    assert "refused" in result.failure and f"127.0.0.1:{port}" in result.failure


def test_ports_follow_the_protocol():
    assert [transport.ServerConfig("h", p).effective_port for p in transport.PROTOCOLS] == [25, 465, 587]
    assert transport.ServerConfig("h", transport.SMTPS, 2465).effective_port == 2465


def test_bad_ca_bundle_is_a_precise_error():
    with pytest.raises(transport.MailError, match="CA bundle is not valid PEM"):
        transport.validate_ca_bundle("-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n")
