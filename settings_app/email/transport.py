"""Talking to the mail server: plain SMTP, SMTPS (implicit TLS) and SMTP_STARTTLS.

Plain Python (no Django): :func:`check` walks the steps of a connection — connect, TLS,
authenticate, optionally send — and reports each step's outcome in words a person can act on;
:func:`send` delivers one message and raises :class:`MailError` with the same words.

TLS always verifies the certificate and the host name, against the system's CAs plus an
optional CA bundle (PEM text) for a private certificate authority. SMTP_STARTTLS upgrades when
the server offers STARTTLS and otherwise carries on in plain SMTP; the outcome says so.
"""

from __future__ import annotations

import smtplib
import socket
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage

SMTP = "SMTP"
SMTPS = "SMTPS"
STARTTLS = "SMTP_STARTTLS"
PROTOCOLS = (SMTP, SMTPS, STARTTLS)
DEFAULT_PORTS = {SMTP: 25, SMTPS: 465, STARTTLS: 587}


@dataclass(frozen=True)
class ServerConfig:
    host: str
    protocol: str = STARTTLS
    port: int | None = None  # None: the protocol's usual port
    timeout: int = 60
    username: str = ""
    password: str = ""
    ca_bundle: str = ""  # PEM text of extra trusted CAs

    @property
    def effective_port(self) -> int:
        return self.port or DEFAULT_PORTS[self.protocol]

    def __repr__(self) -> str:  # never the password
        return f"ServerConfig({self.protocol} {self.host}:{self.effective_port}, user={self.username!r})"


@dataclass
class Step:
    name: str  # connect | tls | authenticate | send
    ok: bool
    message: str


@dataclass
class CheckResult:
    steps: list[Step] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(s.ok for s in self.steps)

    @property
    def failure(self) -> str | None:
        return next((s.message for s in self.steps if not s.ok), None)

    def as_dict(self) -> dict[str, object]:
        return {"ok": self.ok, "steps": [{"step": s.name, "ok": s.ok, "message": s.message} for s in self.steps]}


class MailError(Exception):
    """A step failed; the message says which and what to do."""

    def __init__(self, step: str, message: str) -> None:
        super().__init__(message)
        self.step = step


def tls_context(ca_bundle: str = "") -> ssl.SSLContext:
    """The system's trusted CAs, plus ``ca_bundle``; certificate and host name verified."""
    context = ssl.create_default_context()
    if ca_bundle.strip():
        try:
            context.load_verify_locations(cadata=ca_bundle)
        except (ssl.SSLError, ValueError, TypeError) as exc:  # TypeError: text that is not ASCII
            raise MailError("tls", f"The CA bundle is not valid PEM certificate text ({exc}).") from None
    return context


def validate_ca_bundle(ca_bundle: str) -> None:
    tls_context(ca_bundle)


def _peer_names(config: ServerConfig) -> str:
    """Subject and issuer of the server's certificate, read without trusting it (for the message)."""
    try:
        insecure = ssl.create_default_context()
        insecure.check_hostname = False
        insecure.verify_mode = ssl.CERT_NONE
        if config.protocol == SMTPS:
            with socket.create_connection((config.host, config.effective_port), timeout=config.timeout) as raw, \
                    insecure.wrap_socket(raw, server_hostname=config.host) as tls:
                der = tls.getpeercert(binary_form=True)
        else:
            with smtplib.SMTP(config.host, config.effective_port, timeout=config.timeout) as client:
                client.ehlo()
                client.starttls(context=insecure)
                der = client.sock.getpeercert(binary_form=True)  # type: ignore[union-attr]
        if not der:
            return ""
        from cryptography import x509

        cert = x509.load_der_x509_certificate(der)
        return f" (subject: {cert.subject.rfc4514_string()}; issuer: {cert.issuer.rfc4514_string()})"
    except Exception:  # noqa: BLE001 — the names only enrich a message that is already an error
        return ""


def _tls_failure(exc: ssl.SSLError, config: ServerConfig) -> str:
    if isinstance(exc, ssl.SSLCertVerificationError):
        if "mismatch" in (exc.verify_message or "") or "match" in str(exc).lower() and "hostname" in str(exc).lower():
            return (f"The server's certificate is not valid for the host name '{config.host}'{_peer_names(config)}. "
                    "Use the host name the certificate names.")
        return (f"The server's certificate is not trusted: {exc.verify_message}{_peer_names(config)}. If the server "
                "uses a private certificate authority, add its certificate as the CA bundle.")
    return f"TLS negotiation failed: {exc.reason or exc}. Check that the protocol and port match the server."


def _connect_failure(exc: BaseException, config: ServerConfig) -> str:
    where = f"{config.host}:{config.effective_port}"
    if isinstance(exc, socket.gaierror):
        return f"The host name '{config.host}' cannot be resolved. Check the SMTP server name."
    if isinstance(exc, ConnectionRefusedError):
        return f"The connection to {where} was refused. Check the host and port, and that the mail server runs."
    if isinstance(exc, TimeoutError) or "timed out" in str(exc):
        return (f"{where} did not answer within {config.timeout} s. Check the host and port, a firewall, "
                "and that the protocol matches the port (SMTPS on a plain port waits forever).")
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return f"{where} closed the connection before greeting. Check that the protocol matches the port."
    if isinstance(exc, smtplib.SMTPConnectError):
        return f"{where} refused the session: {exc.smtp_code} {_text(exc.smtp_error)}."
    return f"Cannot connect to {where}: {exc}."


def _text(raw: bytes | str) -> str:
    return raw.decode(errors="replace") if isinstance(raw, bytes) else str(raw)


@contextmanager
def _session(config: ServerConfig, result: CheckResult) -> Iterator[smtplib.SMTP | None]:
    """Connected, TLS negotiated and authenticated — each step recorded; yields None once one failed."""
    context = tls_context(config.ca_bundle) if config.protocol != SMTP else None
    where = f"{config.host}:{config.effective_port}"
    client: smtplib.SMTP | None = None
    try:
        try:
            if config.protocol == SMTPS:
                client = smtplib.SMTP_SSL(config.host, config.effective_port, timeout=config.timeout, context=context)
            else:
                client = smtplib.SMTP(config.host, config.effective_port, timeout=config.timeout)
            client.ehlo()
        except ssl.SSLError as exc:
            result.steps.append(Step("connect", True, f"Connected to {where}."))
            result.steps.append(Step("tls", False, _tls_failure(exc, config)))
            yield None
            return
        except (OSError, smtplib.SMTPException) as exc:
            result.steps.append(Step("connect", False, _connect_failure(exc, config)))
            yield None
            return
        result.steps.append(Step("connect", True, f"Connected to {where}."))
        if config.protocol == SMTPS:
            result.steps.append(Step("tls", True, "TLS established; certificate and host name verified."))
        elif config.protocol == STARTTLS:
            if client.has_extn("starttls"):
                try:
                    client.starttls(context=context)
                    client.ehlo()
                except ssl.SSLError as exc:
                    result.steps.append(Step("tls", False, _tls_failure(exc, config)))
                    yield None
                    return
                except (OSError, smtplib.SMTPException) as exc:
                    result.steps.append(Step("tls", False, f"STARTTLS failed: {exc}."))
                    yield None
                    return
                result.steps.append(Step("tls", True, "STARTTLS done; certificate and host name verified."))
            else:
                result.steps.append(Step("tls", True, "STARTTLS not offered by the server: fell back to plain SMTP "
                                                      "(not encrypted)."))
        if config.username:
            try:
                client.login(config.username, config.password)
            except smtplib.SMTPAuthenticationError as exc:
                result.steps.append(Step("authenticate", False, f"Authentication refused for '{config.username}': "
                                         f"{exc.smtp_code} {_text(exc.smtp_error)}. Check the user name and password."))
                yield None
                return
            except smtplib.SMTPNotSupportedError:
                result.steps.append(Step("authenticate", False, "The server does not offer authentication on this "
                                         "connection. Use SMTPS or SMTP_STARTTLS, or leave the user name empty."))
                yield None
                return
            except (OSError, smtplib.SMTPException) as exc:
                result.steps.append(Step("authenticate", False, f"Authentication failed: {exc}."))
                yield None
                return
            result.steps.append(Step("authenticate", True, f"Authenticated as '{config.username}'."))
        else:
            result.steps.append(Step("authenticate", True, "No user name set: not authenticating."))
        yield client
    except (OSError, smtplib.SMTPException) as exc:
        # A timeout or a drop after the greeting, during TLS or authentication.
        step = "tls" if len(result.steps) == 1 else "authenticate"
        result.steps.append(Step(step, False, _connect_failure(exc, config)))
        yield None
    finally:
        if client is not None:
            try:
                client.quit()
            except (OSError, smtplib.SMTPException):
                client.close()


def check(config: ServerConfig, message: EmailMessage | None = None) -> CheckResult:
    """Connect, negotiate TLS, authenticate — and send ``message`` when given; never raises."""
    result = CheckResult()
    try:
        with _session(config, result) as client:
            if client is not None and message is not None:
                try:
                    client.send_message(message)
                    result.steps.append(Step("send", True, f"Test email sent to {message['To']}."))
                except smtplib.SMTPRecipientsRefused as exc:
                    refused = "; ".join(f"{k}: {v[0]} {_text(v[1])}" for k, v in exc.recipients.items())
                    result.steps.append(Step("send", False, f"The server refused the recipient ({refused})."))
                except smtplib.SMTPSenderRefused as exc:
                    result.steps.append(Step("send", False, f"The server refused the sender {_text(exc.sender)}: "
                                             f"{exc.smtp_code} {_text(exc.smtp_error)}."))
                except (OSError, smtplib.SMTPException) as exc:
                    result.steps.append(Step("send", False, f"Sending failed: {exc}."))
    except MailError as exc:
        result.steps.append(Step(exc.step, False, str(exc)))
    return result


def send(config: ServerConfig, message: EmailMessage) -> CheckResult:
    """Deliver ``message``; raises :class:`MailError` naming the failed step."""
    result = check(config, message)
    for step in result.steps:
        if not step.ok:
            raise MailError(step.name, step.message)
    return result
