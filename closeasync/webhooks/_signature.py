"""Close's webhook signature: HMAC-SHA256 over ``close-sig-timestamp`` + the raw body.

Close signs each delivery with the subscription's ``signature_key`` (given once, when the
subscription is created) and sends two headers: ``close-sig-timestamp``, the Unix time of
sending as decimal text, and ``close-sig-hash``, the lower-case hex HMAC-SHA256 of the
timestamp's ASCII text followed by the body's exact bytes (no separator).

**The key bytes.** ``signature_key`` is a hex string, and the HMAC is keyed with the bytes
it spells, ``bytes.fromhex(signature_key)``, as Close's documentation example does
(``bytearray.fromhex(signature_key)``); not with the string's UTF-8 text. :func:`sign` and
:func:`verify` agree on this, and a key that is not an even number of hex digits is refused
with :class:`~closeasync.errors.ConfigurationError` (a setup mistake, not a bad request).

**What verification checks,** in this order: both headers present and well formed, the
signature (compared in constant time, :func:`hmac.compare_digest`), the timestamp within
``tolerance`` seconds of now either way (an old delivery replayed, or a clock far off), and
last the body: JSON, an object, its ``event`` an object. Only then is the body parsed into
a model, and :func:`~closeasync.models.to_dict` of the event gives back exactly the object
Close sent. Every refusal is a :class:`WebhookVerificationError` raised outside any
``except`` block, so no exception is chained to it, and none of its text holds the key.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import re
import time
from collections.abc import Mapping
from typing import Any

import attrs
import orjson

from ..errors import ConfigurationError
from ..models import Event
from ..models._converter import StructureError, converter
from ._errors import Reason, WebhookVerificationError

__all__ = [
    "DEFAULT_TOLERANCE",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "WebhookDelivery",
    "key_bytes",
    "sign",
    "verify",
    "verify_delivery",
]

#: The header holding the hex HMAC-SHA256.
SIGNATURE_HEADER = "close-sig-hash"
#: The header holding the Unix time the signature covers.
TIMESTAMP_HEADER = "close-sig-timestamp"
#: How far (seconds, either way) a delivery's timestamp may be from now.
DEFAULT_TOLERANCE = 300.0

_HEX_KEY = re.compile(r"(?:[0-9a-fA-F]{2})+")
_HASH = re.compile(r"[0-9a-fA-F]{64}")
_TIMESTAMP = re.compile(r"[0-9]{1,12}(?:\.[0-9]{1,9})?")
_NOT_JSON: Any = object()


@attrs.frozen
class WebhookDelivery:
    """A verified delivery: the event, the subscription it came for, and when it was signed."""

    #: The event, as the event log would show it (``to_dict(event)`` is what Close sent).
    event: Event
    #: The subscription (``whsub_...``) Close delivered it for (None if the body had none).
    subscription_id: str | None
    #: ``close-sig-timestamp``: the Unix time Close signed the delivery.
    timestamp: float


def key_bytes(signature_key: str) -> bytes:
    """The HMAC key: the bytes the hex ``signature_key`` spells.

    Raises:
        ConfigurationError: the key is not a non-empty string of hex digit pairs (the
            message never shows the key).
    """
    if not isinstance(signature_key, str) or _HEX_KEY.fullmatch(signature_key) is None:
        raise ConfigurationError(
            "signature_key must be the hex string Close gave when the subscription was created"
        )
    return bytes.fromhex(signature_key)


def _digest(key: bytes, stamp: str, body: bytes) -> bytes:
    return hmac.new(key, stamp.encode("ascii") + body, hashlib.sha256).digest()


def _stamp_text(timestamp: float | str) -> str:
    if isinstance(timestamp, str):
        if _TIMESTAMP.fullmatch(timestamp) is None:
            raise ValueError("timestamp must be a Unix time in decimal digits")
        return timestamp
    if isinstance(timestamp, bool) or not isinstance(timestamp, int | float):
        raise TypeError(f"timestamp must be a number or a string, not {type(timestamp).__name__}")
    if not math.isfinite(timestamp) or timestamp < 0:
        raise ValueError("timestamp must be a finite, non-negative Unix time")
    return str(int(timestamp))


def _bytes_of(body: bytes) -> bytes:
    if not isinstance(body, bytes | bytearray | memoryview):
        raise TypeError(f"body must be the raw bytes received, not {type(body).__name__}")
    return bytes(body)


def sign(body: bytes, signature_key: str, timestamp: float | str) -> dict[str, str]:
    """The headers Close sends with ``body``: ``close-sig-hash`` and ``close-sig-timestamp``.

    A number ``timestamp`` is sent as whole seconds; a string is sent as given.

    >>> sign(b"{}", "00ff", 1767603600)  # doctest: +NORMALIZE_WHITESPACE
    {'close-sig-hash': '280cdd55b7f9b63c1c7c41b7ce32325518e213bce45c8f40c3c167c035db72d4',
     'close-sig-timestamp': '1767603600'}

    Raises:
        ConfigurationError: ``signature_key`` is not hex.
        TypeError, ValueError: ``body`` is not bytes, or ``timestamp`` not a Unix time.
    """
    raw = _bytes_of(body)
    stamp = _stamp_text(timestamp)
    return {SIGNATURE_HEADER: _digest(key_bytes(signature_key), stamp, raw).hex(), TIMESTAMP_HEADER: stamp}


def _header(headers: Mapping[str, str], name: str) -> str | None:
    """A header's value whatever the case of its name (aiohttp's headers ignore it already)."""
    value = headers.get(name)
    if value is None:
        value = next((v for k, v in headers.items() if isinstance(k, str) and k.lower() == name), None)
    return value if isinstance(value, str) else None


def _refuse(message: str, reason: Reason) -> WebhookVerificationError:
    return WebhookVerificationError(message, reason=reason)


def verify_delivery(
    body: bytes,
    headers: Mapping[str, str],
    signature_key: str,
    *,
    tolerance: float = DEFAULT_TOLERANCE,
    now: float | None = None,
) -> WebhookDelivery:
    """Check a delivery's signature and age, and return its event and subscription id.

    ``body`` is the raw request body, byte for byte (not re-encoded JSON); ``headers`` the
    request's headers (names in any case); ``now`` the Unix time to compare the timestamp
    with (default: :func:`time.time`).

    Raises:
        WebhookVerificationError: a header is missing or malformed, the signature does not
            match, the timestamp is more than ``tolerance`` seconds from ``now``, or the
            signed body is not Close's ``{"event": {...}, "subscription_id": ...}``.
        ConfigurationError: ``signature_key`` is not hex.
    """
    if tolerance < 0:
        raise ValueError("tolerance must not be negative")
    key = key_bytes(signature_key)
    raw = _bytes_of(body)
    given = _header(headers, SIGNATURE_HEADER)
    stamp = _header(headers, TIMESTAMP_HEADER)
    if given is None or stamp is None:
        missing = SIGNATURE_HEADER if given is None else TIMESTAMP_HEADER
        raise _refuse(f"the {missing} header is missing", "missing_header")
    given, stamp = given.strip(), stamp.strip()
    if _HASH.fullmatch(given) is None:
        raise _refuse(f"{SIGNATURE_HEADER} is not 64 hex digits", "malformed_header")
    if _TIMESTAMP.fullmatch(stamp) is None:
        raise _refuse(f"{TIMESTAMP_HEADER} is not a Unix time", "malformed_header")
    if not hmac.compare_digest(bytes.fromhex(given), _digest(key, stamp, raw)):
        raise _refuse("the signature does not match the body and timestamp", "bad_signature")
    signed_at = float(stamp)
    off = (time.time() if now is None else now) - signed_at
    if abs(off) > tolerance:
        when = "old" if off > 0 else "in the future"
        raise _refuse(
            f"{TIMESTAMP_HEADER} is {abs(off):.0f} s {when} (tolerance {tolerance:g} s)",
            "timestamp_out_of_tolerance",
        )
    return _parse(raw, signed_at)


def _parse(raw: bytes, signed_at: float) -> WebhookDelivery:
    try:
        payload = orjson.loads(raw)
    except orjson.JSONDecodeError:
        payload = _NOT_JSON
    if payload is _NOT_JSON:  # raised here, outside the except: nothing chained to it
        raise _refuse("the signed body is not JSON", "malformed_body")
    event = payload.get("event") if isinstance(payload, dict) else None
    if not isinstance(event, dict):
        raise _refuse('the signed body has no "event" object', "malformed_body")
    subscription = payload.get("subscription_id")
    if subscription is not None and not isinstance(subscription, str):
        raise _refuse('the signed body\'s "subscription_id" is not a string', "malformed_body")
    try:
        model: Event | None = converter.structure(event, Event)
    except StructureError:
        model = None
    if model is None:
        raise _refuse('the signed body\'s "event" is not an event', "malformed_body")
    return WebhookDelivery(event=model, subscription_id=subscription, timestamp=signed_at)


def verify(
    body: bytes,
    headers: Mapping[str, str],
    signature_key: str,
    *,
    tolerance: float = DEFAULT_TOLERANCE,
    now: float | None = None,
) -> Event:
    """Check a delivery's signature and age, and return its event (see :func:`verify_delivery`).

    Raises:
        WebhookVerificationError: the delivery is not verified (see :func:`verify_delivery`).
        ConfigurationError: ``signature_key`` is not hex.
    """
    return verify_delivery(body, headers, signature_key, tolerance=tolerance, now=now).event
