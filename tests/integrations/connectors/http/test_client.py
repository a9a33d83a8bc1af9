"""The shared HTTP client against a real local HTTP server (no mocks); a FakeClock means no waiting."""

from __future__ import annotations

import base64
import email.utils
import logging
import socket

import pytest

from integrations.connectors import http
from integrations.connectors.base import ConnectorError
from tests.fakes.clock import FakeClock
from tests.fakes.scripted_server import Reply, ScriptedServer


@pytest.fixture
def server():
    with ScriptedServer() as s:
        yield s


@pytest.fixture
def clock():
    return FakeClock(start=1_800_000_000.0)


def make(server, clock, **kwargs):
    kwargs.setdefault("rng", lambda: 1.0)  # the jitter's upper bound, so waits are predictable
    return http.HttpClient(server.url, clock=clock, **kwargs)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_get_json_sends_headers_and_params(server, clock):
    server.script("GET", "/issues.json", Reply(200, body={"issues": []}))
    client = make(server, clock, headers={"X-Redmine-API-Key": "k" * 40})
    assert client.get_json("/issues.json", params={"limit": 100, "updated_on": ">=2026-01-01T00:00:00Z"}) == {"issues": []}
    seen = server.requests[0]
    assert seen.headers["X-Redmine-API-Key"] == "k" * 40
    assert "limit=100" in seen.query and "updated_on=%3E%3D2026" in seen.query
    assert seen.headers["User-Agent"].startswith("tasktop-hub/")


def test_5xx_is_retried_with_exponential_backoff(server, clock):
    server.script("GET", "/x", Reply(500), Reply(502), Reply(503), Reply(200, body={"ok": True}))
    client = make(server, clock, retry=http.RetryPolicy(base_delay=1.0))
    assert client.get_json("/x") == {"ok": True}
    assert len(server.requests) == 4
    assert clock.sleeps == [1.0, 2.0, 4.0]  # rng=1.0: the top of each full-jitter window


def test_full_jitter_stays_within_the_window(server, clock):
    server.script("GET", "/x", Reply(500), Reply(500), Reply(200, body={}))
    client = make(server, clock, rng=lambda: 0.25, retry=http.RetryPolicy(base_delay=2.0))
    client.get_json("/x")
    assert clock.sleeps == [0.5, 1.0]


def test_retry_after_seconds_is_honoured_on_429(server, clock):
    server.script("GET", "/x", Reply(429, headers={"Retry-After": "7"}), Reply(200, body={}))
    make(server, clock).get_json("/x")
    assert clock.sleeps == [7.0]


def test_429_without_retry_after_is_a_secondary_limit_not_the_quota_reset(server, clock):
    # Quota left, reset an hour away (GitHub sends both on every answer): wait a minute, not the hour.
    limits = {"X-RateLimit-Remaining": "4000", "X-RateLimit-Reset": str(int(clock.time()) + 3600)}
    server.script("GET", "/x", Reply(429, headers=limits), Reply(200, body={}))
    make(server, clock).get_json("/x")
    assert clock.sleeps == [60.0]


def test_secondary_limits_answered_together_count_once(server, clock):
    client = make(server, clock)
    first = client.secondary_wait()
    client.hold(first)
    assert client.secondary_wait() == first  # another thread's request, sent before the wait began
    clock.sleep(first)
    assert client.secondary_wait() == 2 * first  # limited again after waiting: a repeat


def test_429_with_the_quota_spent_waits_for_the_reset(server, clock):
    limits = {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(int(clock.time()) + 40)}
    server.script("GET", "/x", Reply(429, headers=limits), Reply(200, body={}))
    make(server, clock).get_json("/x")
    assert sum(clock.sleeps) == pytest.approx(40.0, abs=1.0)


def test_retry_after_http_date_is_honoured(server, clock):
    when = email.utils.formatdate(clock.time() + 12, usegmt=True)
    server.script("GET", "/x", Reply(503, headers={"Retry-After": when}), Reply(200, body={}))
    make(server, clock).get_json("/x")
    assert clock.sleeps == [pytest.approx(12.0, abs=1.0)]


def test_retry_after_beyond_the_cap_is_handed_to_the_engine(server, clock):
    server.script("GET", "/x", Reply(429, headers={"Retry-After": "3600"}))
    with pytest.raises(ConnectorError) as info:
        make(server, clock).get_json("/x")
    assert info.value.transient and info.value.retry_after == 3600
    assert clock.sleeps == [] and len(server.requests) == 1


def test_total_wait_is_capped(server, clock):
    server.script("GET", "/x", Reply(500))
    policy = http.RetryPolicy(max_attempts=50, base_delay=1.0, max_delay=8.0, max_total_wait=20.0)
    with pytest.raises(http.HttpError) as info:
        make(server, clock, retry=policy).get_json("/x")
    assert info.value.transient and info.value.status == 500
    assert clock.slept <= 20.0
    assert clock.sleeps == [1.0, 2.0, 4.0, 8.0]


def test_attempts_are_capped(server, clock):
    server.script("GET", "/x", Reply(500))
    with pytest.raises(http.HttpError):
        make(server, clock, retry=http.RetryPolicy(max_attempts=3)).get_json("/x")
    assert len(server.requests) == 3


def test_rate_limit_headers_delay_the_next_request(server, clock):
    reset = int(clock.time()) + 30
    server.script("GET", "/a", Reply(200, body={}, headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(reset)}))
    server.script("GET", "/b", Reply(200, body={}))
    client = make(server, clock)
    client.get_json("/a")
    assert clock.sleeps == []
    client.get_json("/b")
    assert clock.sleeps == [pytest.approx(30.0)]


def test_403_with_exhausted_rate_limit_is_transient_not_auth(server, clock):
    reset = int(clock.time()) + 5
    server.script("GET", "/x", Reply(403, headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(reset)}),
                  Reply(200, body={"ok": 1}))
    assert make(server, clock).get_json("/x") == {"ok": 1}
    assert sum(clock.sleeps) == pytest.approx(5.0)


@pytest.mark.parametrize("status", [401, 403])
def test_auth_failures_are_not_retried_and_flagged(server, clock, status):
    server.script("GET", "/x", Reply(status, body={"errors": ["nope"]}))
    with pytest.raises(http.HttpError) as info:
        make(server, clock).get_json("/x")
    assert info.value.auth and not info.value.transient and info.value.status == status
    assert len(server.requests) == 1


@pytest.mark.parametrize("status", [400, 404, 422])
def test_client_errors_are_permanent_and_keep_the_body(server, clock, status):
    server.script("GET", "/x", Reply(status, body={"errors": ["Subject cannot be blank"]}))
    with pytest.raises(http.HttpError) as info:
        make(server, clock).get_json("/x")
    error = info.value
    assert not error.transient and not error.auth and error.status == status
    assert error.json() == {"errors": ["Subject cannot be blank"]}
    assert "Subject cannot be blank" in str(error)
    assert len(server.requests) == 1


def test_allowed_status_is_returned(server, clock):
    server.script("GET", "/x", Reply(404, body={}))
    assert make(server, clock).request("GET", "/x", allow=(404,)).status_code == 404


def test_post_is_not_retried_after_a_500(server, clock):
    server.script("POST", "/issues.json", Reply(500), Reply(201, body={}))
    with pytest.raises(http.HttpError) as info:
        make(server, clock).request("POST", "/issues.json", json={})
    assert info.value.transient
    assert len(server.requests) == 1


def test_post_is_retried_after_429(server, clock):
    server.script("POST", "/issues.json", Reply(429, headers={"Retry-After": "1"}), Reply(201, body={"id": 1}))
    assert make(server, clock).request("POST", "/issues.json", json={}).status_code == 201


def test_read_timeout_is_transient_and_retried_for_get(server):
    server.script("GET", "/slow", Reply(200, body={}, delay=0.5), Reply(200, body={"fast": 1}))
    client = http.HttpClient(server.url, clock=FakeClock(), timeouts=http.Timeouts(connect=1, read=0.1))
    assert client.get_json("/slow") == {"fast": 1}


def test_read_timeout_final_error(server):
    server.script("GET", "/slow", Reply(200, body={}, delay=0.5))
    client = http.HttpClient(server.url, clock=FakeClock(), timeouts=http.Timeouts(connect=1, read=0.1),
                             retry=http.RetryPolicy(max_attempts=2))
    with pytest.raises(ConnectorError) as info:
        client.get_json("/slow")
    assert info.value.transient and not info.value.unreachable and not info.value.auth


def test_connection_refused_is_unreachable(clock):
    client = http.HttpClient(f"http://127.0.0.1:{closed_port()}", clock=clock, retry=http.RetryPolicy(max_attempts=3))
    with pytest.raises(ConnectorError) as info:
        client.get_json("/x")
    assert info.value.unreachable and info.value.transient
    assert len(clock.sleeps) == 1  # unreachable_attempts=2: the engine backs off the connection instead


def test_unknown_host_is_unreachable(clock):
    client = http.HttpClient("http://tracker.nonexistent.invalid", clock=clock, retry=http.NO_RETRY)
    with pytest.raises(ConnectorError) as info:
        client.get_json("/x")
    assert info.value.unreachable
    assert "host name not found" in str(info.value)


def test_non_json_body_is_a_clear_error(server, clock):
    server.script("GET", "/x", Reply(200, body=b"<html>login</html>", headers={"Content-Type": "text/html"}))
    with pytest.raises(ConnectorError, match="did not return JSON"):
        make(server, clock).get_json("/x")


def test_proxy_settings_route_requests_through_the_proxy_with_credentials(server, clock):
    server.script("GET", "*", Reply(200, body={"via": "proxy"}))
    proxy = http.ProxyConfig.from_settings({"proxy_url": server.url}, {"proxy_username": "pu", "proxy_password": "p@ss:w"})
    client = http.HttpClient("http://tracker.example", clock=clock, proxy=proxy)
    assert client.get_json("/issues.json") == {"via": "proxy"}
    seen = server.requests[0]
    assert seen.request_line.startswith("GET http://tracker.example/issues.json")
    expected = base64.b64encode(b"pu:p@ss:w").decode()
    headers = {k.lower(): v for k, v in seen.headers.items()}  # header names are case-insensitive
    assert headers["proxy-authorization"] == f"Basic {expected}"


def test_no_proxy_setting_means_direct_even_with_proxy_environment(server, clock, monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    server.script("GET", "/x", Reply(200, body={}))
    assert http.ProxyConfig.from_settings({"proxy_url": ""}, {}) is None
    make(server, clock).get_json("/x")
    assert server.requests[0].request_line.startswith("GET /x")


def test_use_clock_applies_to_clients_without_their_own(server):
    server.script("GET", "/x", Reply(500), Reply(200, body={}))
    client = http.HttpClient(server.url, rng=lambda: 1.0)
    with http.use_clock(FakeClock()) as fake:
        client.get_json("/x")
    assert fake.sleeps == [0.5]


def test_secrets_never_reach_logs_or_messages(server, clock, caplog):
    key = "s3cr3t-api-key-0123456789"
    server.script("GET", "/x", Reply(500, body={"echo": key}))
    client = http.HttpClient(f"http://admin:hunter22@{server.url.removeprefix('http://')}", clock=clock,
                             headers={"X-Redmine-API-Key": key}, secrets=[key], auth=("admin", "hunter22"),
                             retry=http.RetryPolicy(max_attempts=2))
    caplog.set_level(logging.DEBUG, logger="integrations.http")
    with pytest.raises(http.HttpError) as info:
        client.get_json("/x", params={"key": key})
    text = str(info.value) + info.value.body + repr(info.value.headers) + caplog.text
    assert key not in text and "hunter22" not in text
    assert "admin:***@" in caplog.text and "key=***" in caplog.text


def test_redaction_helpers():
    assert http.redact_url("https://u:pw@h.example/p?key=abc&limit=5") == "https://u:***@h.example/p?key=***&limit=5"
    assert http.redact_headers({"Authorization": "Bearer x", "X-Redmine-API-Key": "k", "Accept": "a"}) == {
        "Authorization": "***", "X-Redmine-API-Key": "***", "Accept": "a"}


@pytest.mark.parametrize("value,expected", [("120", 120.0), ("0", 0.0), ("nonsense", None), ("-3", 0.0)])
def test_parse_retry_after(value, expected):
    assert http.parse_retry_after(value, 0.0) == expected


def test_client_is_usable_from_many_threads(server, clock):
    from concurrent.futures import ThreadPoolExecutor

    server.script("GET", "/x", Reply(200, body={"ok": 1}))
    client = make(server, clock)
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: client.get_json("/x"), range(64)))
    assert results == [{"ok": 1}] * 64
    client.close()


def test_basic_auth_and_gzip_bodies(server, clock):
    import gzip
    import json

    payload = gzip.compress(json.dumps({"big": "x" * 1000}).encode())
    server.script("GET", "/x", Reply(200, body=payload, headers={"Content-Encoding": "gzip"}))
    client = make(server, clock, auth=("me@example.com", "api-token-123"))
    assert client.get_json("/x") == {"big": "x" * 1000}
    seen = server.requests[0]
    assert seen.headers["Authorization"] == "Basic " + base64.b64encode(b"me@example.com:api-token-123").decode()
    assert "gzip" in seen.headers["Accept-Encoding"]


def test_redirects_are_followed_without_leaking_credentials_to_another_host(clock):
    with ScriptedServer() as first, ScriptedServer() as second:
        second.script("GET", "/moved", Reply(200, body={"here": True}))
        first.script("GET", "/old", Reply(301, headers={"Location": "/new"}))
        first.script("GET", "/new", Reply(302, headers={"Location": second.url + "/moved"}))
        client = http.HttpClient(first.url, clock=clock, headers={"X-Redmine-API-Key": "k" * 40})
        assert client.get_json("/old") == {"here": True}
        assert first.requests[1].headers["X-Redmine-API-Key"] == "k" * 40  # same host keeps it
        assert "X-Redmine-API-Key" not in second.requests[0].headers


def test_post_json_body_and_content_type(server, clock):
    server.script("POST", "/issues.json", Reply(201, body={"issue": {"id": 1}}))
    response = make(server, clock).request("POST", "/issues.json", json={"issue": {"subject": "é"}})
    assert response.status_code == 201 and response.json() == {"issue": {"id": 1}}
    seen = server.requests[0]
    assert seen.headers["Content-Type"] == "application/json"
    assert json_loads(seen.body) == {"issue": {"subject": "é"}}


def json_loads(body: bytes):
    import json

    return json.loads(body)


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory):
    """A self-signed certificate for 127.0.0.1, made with cryptography (already a dependency)."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "hub test CA")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
            .sign(key, hashes.SHA256()))
    folder = tmp_path_factory.mktemp("tls")
    pem = cert.public_bytes(serialization.Encoding.PEM)
    (folder / "cert.pem").write_bytes(pem)
    (folder / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                       serialization.NoEncryption()))
    return str(folder / "cert.pem"), str(folder / "key.pem"), pem.decode()


def test_tls_verification_and_private_cas(tls_files, clock):
    cert, key, pem = tls_files
    with ScriptedServer(tls=(cert, key)) as server:
        server.script("GET", "/x", Reply(200, body={"secure": True}))
        with pytest.raises(ConnectorError) as info:  # an unknown CA is refused, and retrying will not help
            http.HttpClient(server.url, clock=clock).get_json("/x")
        assert info.value.unreachable and not info.value.transient and "TLS" in str(info.value)
        for options in ({"ca_certificates": pem}, {"ca_certificates": cert}, {"verify_tls": False}):
            client = http.HttpClient(server.url, clock=clock, verify=http.verify_from_settings(options))
            assert client.get_json("/x") == {"secure": True}
    assert http.verify_from_settings({}) is True


def test_http_errors_survive_pickling(server, clock):
    import pickle

    server.script("GET", "/x", Reply(429, headers={"Retry-After": "3600"}, body={"errors": ["slow down"]}))
    with pytest.raises(http.HttpError) as info:
        make(server, clock).get_json("/x")
    copy = pickle.loads(pickle.dumps(info.value))
    assert (copy.status, copy.transient, copy.retry_after, str(copy)) == (429, True, 3600, str(info.value))
    assert copy.json() == {"errors": ["slow down"]}


def test_concurrent_callers_do_not_overrun_the_remaining_quota(server, clock):
    from concurrent.futures import ThreadPoolExecutor

    reset = str(int(clock.time()) + 3600)
    quota = [Reply(200, body={}, headers={"X-RateLimit-Remaining": str(n), "X-RateLimit-Reset": reset})
             for n in range(9, -1, -1)]
    server.script("GET", "/x", *quota, Reply(403, body={"message": "API rate limit exceeded"},
                                              headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset}))
    client = make(server, clock, retry=http.RetryPolicy(max_total_wait=0))

    def call(_: int) -> str:
        try:
            client.get_json("/x")
            return "ok"
        except ConnectorError as exc:
            assert exc.transient and "rate limit exhausted" in str(exc)
            return "refused"

    with ThreadPoolExecutor(8) as threads:
        results = list(threads.map(call, range(40)))
    assert len(server.requests) <= 10  # never past the quota: no request met the 403
    assert results.count("ok") == len(server.requests) and results.count("refused") == 40 - len(server.requests)
