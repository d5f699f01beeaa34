"""A ready aiohttp.web handler receiving Close's webhook deliveries.

It reads the raw body, verifies it (:func:`~closeasync.webhooks.verify_delivery`) and hands
the :class:`~closeasync.webhooks.WebhookDelivery` over, to an async callback or an
:class:`asyncio.Queue`, *before* answering 200: Close counts a 2xx as delivered, so an
event is acknowledged only once the program holds it. A refused request is answered 400
(a header missing or malformed, a signed body that is not an event) or 401 (a bad
signature, a timestamp out of tolerance) with a short plain-text reason that never shows
the key, and nothing is handed over. An exception from the callback becomes a 500, which
Close retries later.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeAlias

from aiohttp import web

from ._errors import Reason, WebhookVerificationError
from ._signature import DEFAULT_TOLERANCE, WebhookDelivery, key_bytes, verify_delivery

if TYPE_CHECKING:
    Deliver: TypeAlias = Callable[[WebhookDelivery], Awaitable[object]] | asyncio.Queue[WebhookDelivery]

__all__ = ["STATUS_OF", "webhook_handler"]

#: The status a refusal is answered with, by :attr:`WebhookVerificationError.reason`.
STATUS_OF: dict[Reason, int] = {
    "missing_header": 400,
    "malformed_header": 400,
    "malformed_body": 400,
    "bad_signature": 401,
    "timestamp_out_of_tolerance": 401,
}


def webhook_handler(
    signature_key: str,
    deliver: Deliver,
    *,
    tolerance: float = DEFAULT_TOLERANCE,
    clock: Callable[[], float] = time.time,
) -> Callable[[web.Request], Awaitable[web.Response]]:
    """An aiohttp.web handler for one subscription's deliveries.

    ``deliver`` is awaited with each verified delivery (or, for a queue, the delivery is
    ``put`` on it) before the 200 goes back; ``clock`` gives the Unix time timestamps are
    checked against. Mount it for POST::

        app.router.add_post("/close-webhook", webhook_handler(key, queue))

    aiohttp reads bodies up to ``client_max_size`` (1 MiB by default); an event holding a
    large email can be bigger, so give the application more room.

    Raises:
        ConfigurationError: ``signature_key`` is not hex (checked here, not per request).
    """
    key_bytes(signature_key)  # a bad key fails now, not as a 500 on every delivery
    if tolerance < 0:
        raise ValueError("tolerance must not be negative")

    async def handle(request: web.Request) -> web.Response:
        if request.method != "POST":
            return web.Response(status=405, text="webhook deliveries are POSTed", headers={"Allow": "POST"})
        body = await request.read()
        try:
            delivery = verify_delivery(body, request.headers, signature_key, tolerance=tolerance, now=clock())
        except WebhookVerificationError as error:
            return web.Response(status=STATUS_OF[error.reason], text=error.message)
        if isinstance(deliver, asyncio.Queue):
            await deliver.put(delivery)
        else:
            await deliver(delivery)
        return web.Response(status=200, text="ok")

    return handle
