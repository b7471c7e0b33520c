"""The signing primitives of the bot's capability URLs (tracked content links, partner
install links): canonical unpadded base64url and HMAC-SHA256 with PRM_SECRET_KEY.

Each kind of token signs its own version prefix, so one kind can never be read as another.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac


def b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64decode(text: str) -> bytes | None:
    """Unpadded base64url; None unless `text` is the canonical encoding of its bytes."""
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        return None
    # Canonical only: the unused low bits of the last character must be zero, or two
    # spellings of one token would both be valid.
    return data if b64encode(data) == text else None


def mac(secret: str, signed: str) -> bytes:
    return hmac.new(secret.encode("utf-8"), signed.encode("ascii"), hashlib.sha256).digest()


def mac_matches(secret: str, signed: str, candidate: str) -> bool:
    """Whether `candidate` (base64url) is the MAC of `signed`, compared in constant time."""
    raw = b64decode(candidate)
    return raw is not None and hmac.compare_digest(raw, mac(secret, signed))
