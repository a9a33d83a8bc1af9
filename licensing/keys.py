"""License keys: Ed25519-signed documents, their format, issuing and verification.

Format (one line; whitespace and line breaks are ignored when applying)::

    TTHUB1.<issuer key id>.<payload, base64url JSON>.<signature, base64url>

* the **issuer key id** is the first 16 hex digits of SHA-256 over the raw 32-byte public key;
* the **signature** is Ed25519 over the ASCII text ``TTHUB1.<key id>.<payload>``, so any changed
  byte of the key id or payload invalidates it;
* the **payload** carries: ``type``, ``description``, ``max_users``, ``created``, ``expires``
  (ISO dates, valid through the expiration date in UTC), ``issuer``, ``licensee`` and a random
  ``id``.

Refusals are distinct exceptions, each with its own message: :class:`MalformedKey`,
:class:`UntrustedIssuer`, :class:`TamperedKey`, :class:`ExpiredKey`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import uuid
from dataclasses import asdict, dataclass
from datetime import date

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

PREFIX = "TTHUB1"
_SHAPE = re.compile(r"^TTHUB1\.([0-9a-f]{16})\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)$")
FIELDS = ("type", "description", "max_users", "created", "expires", "issuer", "licensee")


class LicenseKeyError(ValueError):
    """A license key was refused; the message says why and what to do."""


class MalformedKey(LicenseKeyError):
    pass


class UntrustedIssuer(LicenseKeyError):
    pass


class TamperedKey(LicenseKeyError):
    pass


class ExpiredKey(LicenseKeyError):
    pass


@dataclass(frozen=True)
class LicenseDocument:
    type: str
    description: str
    max_users: int
    created: date
    expires: date
    issuer: str
    licensee: str
    id: str = ""
    key_id: str = ""  # the signer's key id (not part of the payload)

    def payload(self) -> dict:
        data = asdict(self)
        data.pop("key_id")
        data["created"] = self.created.isoformat()
        data["expires"] = self.expires.isoformat()
        return data


def _b64e(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _b64d(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def public_key_bytes(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(key: Ed25519PublicKey) -> str:
    return hashlib.sha256(public_key_bytes(key)).hexdigest()[:16]


def public_key_text(key: Ed25519PublicKey) -> str:
    """The form operators put into HUB_LICENSE_TRUSTED_KEYS (base64 of the raw key)."""
    return base64.b64encode(public_key_bytes(key)).decode("ascii")


def load_public_key(text: str) -> Ed25519PublicKey:
    """A trusted key from configuration: base64 of the raw 32 bytes, or a PEM public key."""
    text = text.strip()
    if not text:
        raise ValueError("no key was given; paste the public key printed by `manage.py license keygen`")
    if "PRIVATE KEY" in text:
        # Said outright, and the text never echoed: a private key pasted here must go no further.
        raise ValueError("this is a private key; give the issuer's public key (printed by `manage.py license "
                         "keygen`), and keep the private key secret")
    if text.startswith("-----BEGIN"):
        try:
            key = serialization.load_pem_public_key(text.encode())
        except ValueError:  # cryptography's own text points at its FAQ, not at what to do here
            raise ValueError("the PEM text cannot be read; copy it whole, from -----BEGIN PUBLIC KEY----- to "
                             "-----END PUBLIC KEY-----") from None
        if not isinstance(key, Ed25519PublicKey):
            kind = type(key).__name__.removeprefix("_").replace("PublicKey", "")
            raise ValueError(f"the PEM holds a key of another type ({kind}); license issuers use Ed25519 keys "
                             "(`manage.py license keygen`)")
        return key
    try:
        raw = base64.b64decode(text, validate=True)
    except binascii.Error:
        raw = b""
    if len(raw) != 32:
        raise ValueError("expected the base64 of a 32-byte Ed25519 public key, or a PEM public key")
    return Ed25519PublicKey.from_public_bytes(raw)


def generate_private_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def private_key_pem(key: Ed25519PrivateKey, passphrase: bytes | None = None) -> bytes:
    encryption = (serialization.BestAvailableEncryption(passphrase) if passphrase
                  else serialization.NoEncryption())
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)


def load_private_key(pem: bytes, passphrase: bytes | None = None) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(pem, password=passphrase)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError("not an Ed25519 private key")
    return key


def issue(private_key: Ed25519PrivateKey, document: LicenseDocument) -> str:
    """Sign ``document``; returns the license key text."""
    if not document.id:
        document = LicenseDocument(**{**asdict(document), "id": uuid.uuid4().hex})
    kid = key_id(private_key.public_key())
    payload = _b64e(json.dumps(document.payload(), sort_keys=True, separators=(",", ":")).encode())
    signed = f"{PREFIX}.{kid}.{payload}"
    return f"{signed}.{_b64e(private_key.sign(signed.encode('ascii')))}"


def verify(text: str, trusted: list[Ed25519PublicKey], today: date | None) -> LicenseDocument:
    """The document of a valid, trusted, unexpired key; otherwise the matching LicenseKeyError.

    ``today=None`` skips the expiry check (re-verifying the license in force).
    """
    compact = "".join((text or "").split())
    if not compact:
        raise MalformedKey("No license key was given. Paste the whole key, starting with 'TTHUB1.'.")
    match = _SHAPE.match(compact)
    if not match:
        if not compact.startswith(PREFIX + "."):
            raise MalformedKey("This is not a tasktop_hub license key: a key starts with 'TTHUB1.'.")
        raise MalformedKey("The license key is incomplete or damaged: it must consist of four parts separated "
                           "by dots, using only letters, digits, '-' and '_'. Paste the whole key again.")
    kid, payload_text, signature_text = match.groups()
    by_id = {key_id(k): k for k in trusted}
    signer = by_id.get(kid)
    if signer is None:
        configured = ", ".join(sorted(by_id)) or "none"
        raise UntrustedIssuer(
            f"The license key was signed by issuer key {kid}, which this hub does not trust "
            f"(trusted issuer keys: {configured}). Trust the issuer's public key (`manage.py license trust PUBLIC_KEY`, or "
            "HUB_LICENSE_TRUSTED_KEYS), "
            "or ask your issuer for a key signed with a trusted one."
        )
    try:
        signature = _b64d(signature_text)
        # Only the canonical encoding is accepted: otherwise the unused low bits of the last
        # base64 digit could change without changing the signature.
        if _b64e(signature) != signature_text:
            raise InvalidSignature
        signer.verify(signature, f"{PREFIX}.{kid}.{payload_text}".encode("ascii"))
    except (InvalidSignature, ValueError, binascii.Error):
        raise TamperedKey("The license key has been altered: its signature does not match its content. "
                          "Use the key exactly as the issuer sent it.") from None
    document = _parse_payload(payload_text, kid)
    if today is not None and document.expires < today:
        raise ExpiredKey(f"This license expired on {document.expires.isoformat()}; it cannot be applied. "
                         "Ask your issuer for a renewed license.")
    return document


def _parse_payload(payload_text: str, kid: str) -> LicenseDocument:
    # Signed by a trusted issuer but unreadable: an issuer-side fault, still refused clearly.
    try:
        data = json.loads(_b64d(payload_text))
        missing = [name for name in FIELDS if name not in data]
        if missing:
            raise MalformedKey(f"The license key lacks the field(s) {', '.join(missing)}; ask the issuer for a new one.")
        max_users = data["max_users"]
        if not isinstance(max_users, int) or isinstance(max_users, bool) or max_users < 1:
            raise MalformedKey("The license key's maximum users must be a whole number of at least 1.")
        created, expires = date.fromisoformat(data["created"]), date.fromisoformat(data["expires"])
        if expires < created:
            raise MalformedKey("The license key expires before it was created; ask the issuer for a new one.")
        return LicenseDocument(
            type=str(data["type"]), description=str(data["description"]), max_users=max_users,
            created=created, expires=expires, issuer=str(data["issuer"]), licensee=str(data["licensee"]),
            id=str(data.get("id", "")), key_id=kid,
        )
    except MalformedKey:
        raise
    except (ValueError, TypeError, KeyError, binascii.Error):
        raise MalformedKey("The license key's content cannot be read; ask the issuer for a new one.") from None
