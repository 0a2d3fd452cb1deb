"""Standard Webhooks v1 signatures (SPEC §7.1).

``webhook-signature`` carries one ``v1,<base64 HMAC-SHA256>`` per active secret, separated
by spaces, so a receiver rotating keys accepts the request while it trusts either one.
The HMAC covers ``"{msg_id}.{timestamp}."`` followed by the body *bytes exactly as sent*:
the body is never decoded or re-serialised here, because any change breaks the signature.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Sequence

SECRET_PREFIX = "whsec_"
SCHEME = "v1"


def secret_key(secret: str) -> bytes:
    """The HMAC key of a configured secret: the base64 after ``whsec_`` (SPEC §7.1).

    Anything else is refused (``ValueError``, never echoing the secret: the message may
    reach a log): receivers verify with the Standard Webhooks libraries, which strip
    ``whsec_`` and base64-decode the rest leniently, dropping characters outside the
    standard alphabet. A plain passphrase, or URL-safe base64, would be signed with one
    key here and checked with another there, and every delivery would fail to verify.
    Missing padding is restored, as the reference libraries do.
    """
    if not secret.startswith(SECRET_PREFIX):
        raise ValueError("webhook secret must be whsec_ followed by a base64 key")
    raw = secret.removeprefix(SECRET_PREFIX)
    try:
        key = base64.b64decode(raw + "=" * (-len(raw) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("webhook secret must be whsec_ followed by standard base64 (A-Z a-z 0-9 + /)") from None
    if not key:
        raise ValueError("webhook secret is empty: whsec_ followed by a base64 key")
    return key


def _sign_with(keyed: hmac.HMAC, msg_id: str, timestamp: int, body: bytes) -> str:
    """One ``v1,<base64>`` signature over ``{msg_id}.{timestamp}.{body}``, from a keyed HMAC."""
    mac = keyed.copy()
    mac.update(f"{msg_id}.{timestamp}.".encode())
    # update() instead of concatenation: no copy of a possibly large body.
    mac.update(body)
    return f"{SCHEME},{base64.b64encode(mac.digest()).decode('ascii')}"


class Signer:
    """The signatures of one endpoint's secrets, keyed once: deliveries are the hot path,
    and decoding each secret and keying a fresh HMAC per attempt is most of a signature's cost."""

    __slots__ = ("_keyed",)

    def __init__(self, secrets: Sequence[str]) -> None:
        if not secrets:
            raise ValueError("no secrets to sign with")
        self._keyed = tuple(hmac.new(secret_key(s), digestmod=hashlib.sha256) for s in secrets)

    def header(self, msg_id: str, timestamp: int, body: bytes) -> str:
        """The ``webhook-signature`` value: one signature per secret, space-separated, in order."""
        return " ".join([_sign_with(keyed, msg_id, timestamp, body) for keyed in self._keyed])


def signature_header(secrets: Sequence[str], msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` value: one signature per secret, space-separated, in order.

    ``timestamp`` is the attempt's own unix time (the ``webhook-timestamp`` header), so a
    retry is signed afresh. An empty ``secrets`` is a caller bug (an endpoint without a
    secret sends no signature header at all), hence ``ValueError`` rather than ``""``.
    """
    return Signer(secrets).header(msg_id, timestamp, body)
