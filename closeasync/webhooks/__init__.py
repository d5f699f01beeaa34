"""Receive Close's webhooks: verify a delivery's signature, and get its event as a model.

Close POSTs each event a subscription asks for to the subscriber's URL, as
``{"event": {...}, "subscription_id": "whsub_..."}``, signed with the subscription's
``signature_key`` (shown once, in the answer to ``POST /webhook/``). The signature is the
hex HMAC-SHA256, keyed with the bytes of the hex key (``bytes.fromhex(signature_key)``,
as Close's documentation does), of the ``close-sig-timestamp`` header's text followed by
the raw body; it travels in ``close-sig-hash``.

>>> import orjson
>>> from closeasync.models import to_dict
>>> from closeasync.webhooks import sign, verify
>>> key = "a3f1" * 16  # what POST /webhook/ answered with, once
>>> body = orjson.dumps({
...     "event": {"id": "ev_1", "object_type": "activity.email", "action": "created",
...               "object_id": "acti_1", "date_created": "2026-01-05T09:00:00.000000"},
...     "subscription_id": "whsub_1",
... })
>>> headers = sign(body, key, 1767603600)  # what Close sends with it
>>> event = verify(body, headers, key, now=1767603630)
>>> event.object_type, event.action, event.date_created.year
('activity.email', 'created', 2026)
>>> to_dict(event) == orjson.loads(body)["event"]
True
>>> verify(body + b" ", headers, key, now=1767603630)
Traceback (most recent call last):
    ...
closeasync.webhooks.WebhookVerificationError: the signature does not match the body and timestamp

A receiver, with aiohttp.web (refusals are answered 400/401; a verified delivery is handed
over before the 200)::

    queue: asyncio.Queue[WebhookDelivery] = asyncio.Queue()
    app = web.Application()
    app.router.add_post("/close", webhook_handler(signature_key, queue))
    ...
    delivery = await queue.get()
    print(delivery.subscription_id, delivery.event.action, delivery.event.object_id)

- :func:`verify` / :func:`verify_delivery`: check a body and its headers; the event (and
  its subscription id), or :class:`WebhookVerificationError`;
- :func:`sign`: the headers Close would send with a body (the fake and tests use it);
- :func:`webhook_handler`: the aiohttp.web handler above.
"""

from __future__ import annotations

from ._errors import Reason, WebhookVerificationError
from ._receiver import STATUS_OF, webhook_handler
from ._signature import (
    DEFAULT_TOLERANCE,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    WebhookDelivery,
    sign,
    verify,
    verify_delivery,
)

__all__ = [
    "DEFAULT_TOLERANCE",
    "SIGNATURE_HEADER",
    "STATUS_OF",
    "TIMESTAMP_HEADER",
    "Reason",
    "WebhookDelivery",
    "WebhookVerificationError",
    "sign",
    "verify",
    "verify_delivery",
    "webhook_handler",
]
