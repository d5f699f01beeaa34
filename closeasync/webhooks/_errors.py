"""The one error a webhook delivery that fails verification raises."""

from __future__ import annotations

from typing import Literal

from ..errors import CloseError

__all__ = ["Reason", "WebhookVerificationError"]

#: Why a delivery was refused: a header absent or not in Close's format, the signature
#: not the one the key makes, the timestamp too far from now, or a signed body that is not
#: Close's ``{"event": {...}, "subscription_id": ...}``.
Reason = Literal[
    "missing_header", "malformed_header", "bad_signature", "timestamp_out_of_tolerance", "malformed_body"
]


class WebhookVerificationError(CloseError):
    """A webhook delivery failed verification: do not trust its body.

    Attributes:
        message: what was wrong, in words (never the key, the signature or the body).
        reason: the same as a code: ``missing_header``, ``malformed_header``,
            ``bad_signature``, ``timestamp_out_of_tolerance`` or ``malformed_body``.

    Nothing in the error holds the signature key: not its message, ``args``, attributes,
    nor an exception chained to it (each one is raised with no cause and no context).
    """

    __module__ = "closeasync.webhooks"  # its one public path (it pickles by that name)

    def __init__(self, message: str, *, reason: Reason) -> None:
        super().__init__(message)
        self.message = message
        self.reason: Reason = reason

    def __repr__(self) -> str:
        return f"WebhookVerificationError({self.message!r}, reason={self.reason!r})"
