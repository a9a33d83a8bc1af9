"""The redactor masks a secret in every spelling a wire carries, and the connector guard applies it."""

from __future__ import annotations

import base64
import logging
from urllib.parse import quote, quote_plus

import pytest

from integrations.connectors.base import ConnectorError
from integrations.connectors.http.redaction import GuardedConnector, RedactingFilter, Redactor, guard, remember

SECRET = "pw/CANARY+&= %x"


@pytest.mark.parametrize("user", ["a", "ab", "abc", "alice@example.com"])  # every base64 alignment
@pytest.mark.parametrize("cut", [0, 2, 5])  # an error text cut inside the encoded credentials
def test_basic_credentials_masked_whatever_the_user_and_cut(user, cut):
    token = base64.b64encode(f"{user}:{SECRET}".encode()).decode()
    text = Redactor([SECRET])(f"echo: Basic-ish {token[:len(token) - cut]} end")
    assert "CANARY" not in text and token[:len(token) - cut] not in text
    assert base64.b64encode(b"CANARY").decode()[:6] not in text


@pytest.mark.parametrize("form", [SECRET, quote(SECRET, safe=""), quote(SECRET), quote_plus(SECRET),
                                  base64.b64encode(SECRET.encode()).decode(),
                                  base64.urlsafe_b64encode(SECRET.encode()).decode(), '"pw/CANARY+&= %x"'])
def test_each_form_is_masked(form):
    assert "CANARY" not in Redactor([SECRET])(f"before {form} after").replace("***", "")
    assert form not in Redactor([SECRET])(f"before {form} after")


def test_patterns_without_a_known_secret():
    text = Redactor()("Authorization: Basic dXNlcjpwYXNz; Proxy-Authorization: Bearer abc.def-ghi "
                      "X-Redmine-API-Key: k3y0123 url https://bob:hunter22@h.example/x?token=t0k3n&page=2")
    for value in ("dXNlcjpwYXNz", "abc.def-ghi", "k3y0123", "hunter22", "t0k3n"):
        assert value not in text
    assert "page=2" in text and "https://bob:***@h.example" in text


class _Leaky:
    kind = "leaky"

    def fetch(self, what: str) -> str:
        if what == "type":
            raise TypeError(f"driver said {SECRET}")
        raise ConnectorError(f"tool echoed {quote(SECRET)}", transient=True, auth=True)


def test_guard_masks_every_exception_and_keeps_its_flags():
    connector = guard(_Leaky, "https://u:p4ssw0rd@tool.example", {"token": SECRET})
    assert isinstance(connector, GuardedConnector) and connector.kind == "leaky"
    with pytest.raises(ConnectorError) as caught:
        connector.fetch("connector")
    assert "CANARY" not in str(caught.value) and caught.value.transient and caught.value.auth
    with pytest.raises(TypeError) as caught_type:
        connector.fetch("type")
    assert "CANARY" not in str(caught_type.value)


def test_guard_masks_the_build_and_url_passwords():
    def build() -> None:
        raise ConnectorError("cannot connect to https://u:p4ssw0rd@tool.example as p4ssw0rd")

    with pytest.raises(ConnectorError) as caught:
        guard(build, "https://u:p4ssw0rd@tool.example", {})
    assert "p4ssw0rd" not in str(caught.value)


def test_log_filter_masks_remembered_secrets():
    remember(["log-canary-5511 secret"])
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "failed with %s", (base64.b64encode(
        b"user:log-canary-5511 secret").decode(),), None)
    assert RedactingFilter().filter(record)
    assert "log-canary" not in record.getMessage() and "dXNlcjpsb2ct" not in record.getMessage()
