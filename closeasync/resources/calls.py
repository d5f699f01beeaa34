"""``close.calls``: Call activities."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Unpack

from ..models.call import Call
from ..params import CallCreateFields, CallUpdateFields
from ..pipeline.routes import ROUTES
from ..rules.activity_bodies import call_create_errors, call_update_errors
from ._arguments import check_keys
from ._crud import CreatableResource, Prepared

__all__ = ["CallsResource"]

_CREATE_NAMES = CallCreateFields.__annotations__
_UPDATE_NAMES = CallUpdateFields.__annotations__


class CallsResource(CreatableResource[Call]):
    """Call activities: calls made through Close's VoIP, or made elsewhere and logged.

    >>> async def example(close):  # doctest: +SKIP
    ...     call = await close.calls.create(
    ...         lead_id="lead_1", direction="outbound", duration=153, phone="+16505551234",
    ...         note_html="<body><p>Wants a demo</p></body>",
    ...     )
    ...     return await close.calls.update(call, outcome_id="outcome_1")
    """

    _model = Call
    _routes = ROUTES["call"]
    _update_rule = staticmethod(call_update_errors)
    # Close refuses status and duration changes of a call made through its own VoIP.
    _state_fields = ("source",)

    async def create(self, **fields: Unpack[CallCreateFields]) -> Call:
        """Log a call made outside Close's built-in VoIP (``status`` defaults to ``completed``).

        Raises:
            InvalidRequestError: the input breaks one of Close's rules (nothing was sent).
            BadRequestError: Close refused it.
        """
        return await self._send_create(self._prepare(**fields))

    def _prepare(self, **fields: Any) -> Prepared:
        check_keys(fields, _CREATE_NAMES, "field of a call")
        return self._prepared(fields, call_create_errors)

    def _prepare_item(self, item: Mapping[str, Any]) -> Prepared:
        return self._prepare(**item)

    async def update(self, call: str | Call, /, **fields: Unpack[CallUpdateFields]) -> Call:
        """Change a call, most often its ``note_html`` or ``outcome_id`` (only the given fields change).

        Pass the :class:`Call` instead of its id and Close's rule for calls made through
        its VoIP (no ``status`` or ``duration`` change) is checked before sending.

        Raises:
            InvalidRequestError: the change breaks one of Close's rules (nothing was sent).
        """
        check_keys(fields, _UPDATE_NAMES, "field of a call")
        return await self._update(call, fields)
