"""``close.sms``: SMS (and MMS) activities."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, Any, Unpack

from ..listing.cursor import SyncCursor
from ..listing.keyset import SyncIterator
from ..models._base import UNSET
from ..models.enums import MessageStatus
from ..models.sms import SMS
from ..params import ActivityFilters, SMSCreateFields, SMSUpdateFields
from ..pipeline.routes import ROUTES
from ..pipeline.wire import QueryValue
from ..rules.messages import sms_create_errors, sms_update_errors
from ._arguments import check_keys
from ._messages import MessageResource, Prepared

if TYPE_CHECKING:
    from ..listing.paginator import AsyncPaginator

__all__ = ["SMSResource"]

_CREATE_NAMES = SMSCreateFields.__annotations__
_UPDATE_NAMES = SMSUpdateFields.__annotations__


class SMSResource(MessageResource[SMS]):
    """SMS activities; an MMS is an SMS with attachments.

    >>> async def example(close):  # doctest: +SKIP
    ...     return await close.sms.create(
    ...         status="outbox", lead_id="lead_1", local_phone="+16503334444",
    ...         remote_phone="+14155550100", text="See you at 3pm",
    ...     )
    """

    _model = SMS
    _routes = ROUTES["sms"]
    _update_rule = staticmethod(sms_update_errors)

    def list(
        self,
        *,
        fields: Sequence[str] | None = None,
        page_size: int = 100,
        prefetch: int = 0,
        **filters: Unpack[ActivityFilters],
    ) -> AsyncPaginator[SMS]:
        """List SMS newest first (by ``date_created``), lazily.

        ``prefetch=N`` (N >= 2) fetches up to N pages at once; to walk a long or live
        history exactly once, use :meth:`sync`.

        Raises:
            InvalidRequestError: an unknown filter name, an empty id list, or a bad
                ``page_size``/``prefetch``.
        """
        return self._paginate(filters, fields, page_size, prefetch)

    def sync(
        self,
        since: datetime | SyncCursor | None = None,
        *,
        until: datetime | None = None,
        fields: Sequence[str] | None = None,
        page_size: int = 100,
        **filters: Unpack[ActivityFilters],
    ) -> SyncIterator[SMS]:
        """Walk SMS by ``date_created`` (newest first), each exactly once, resumably.

        The same as :meth:`EmailsResource.sync <closeasync.resources.EmailsResource.sync>`.

        Raises:
            InvalidRequestError: an unknown filter, a date filter (``since``/``until``
                replace them), a naive datetime, or a cursor of another sync.
        """
        return self._sync(since, until, filters, fields, page_size)

    async def create(
        self,
        *,
        status: MessageStatus | str,
        send_to_inbox: bool = False,
        **fields: Unpack[SMSCreateFields],
    ) -> SMS:
        """Create an SMS: log one (``inbox``/``sent``), save a ``draft``, or send one.

        Sending (``outbox``, ``scheduled``) needs ``local_phone``, one of the
        organization's internal numbers. ``send_to_inbox=True`` (inbox only) also
        creates an Inbox notification.

        Raises:
            InvalidRequestError: the input breaks one of Close's rules (nothing was sent).
            BadRequestError: Close refused it.
            WriteOutcomeUnknownError: it failed after it may have reached Close (it is never
                repeated: check before creating it again). Cancelling this call while the
                request is out leaves the same doubt, with only the ``CancelledError`` to
                say so; ``create_many(..., stop_after=)`` reports each item's outcome instead.
        """
        return await self._send_create(self._prepare(status=status, send_to_inbox=send_to_inbox, **fields))

    def _prepare(
        self, *, status: MessageStatus | str, send_to_inbox: bool = False, **fields: Any
    ) -> Prepared:
        check_keys(fields, _CREATE_NAMES, "field of an SMS")
        rule = partial(sms_create_errors, send_to_inbox=send_to_inbox)
        query: dict[str, QueryValue] | None = {"send_to_inbox": True} if send_to_inbox else None
        return self._prepared({"status": status, **fields}, rule, query)

    def _prepare_item(self, item: Mapping[str, Any]) -> Prepared:
        return self._prepare(**item)

    async def update(self, sms: str | SMS, **fields: Unpack[SMSUpdateFields]) -> SMS:
        """Change a draft SMS (only the given fields change).

        Pass the :class:`SMS` instead of its id and the status rules are checked
        before sending.

        Raises:
            InvalidRequestError: the change breaks one of Close's rules (nothing was sent).
        """
        check_keys(fields, _UPDATE_NAMES, "field of an SMS")
        return await self._update(sms, fields)

    async def send(self, sms: str | SMS, *, local_phone: str | None = UNSET, send_in: int = UNSET) -> SMS:
        """Send a draft now (status ``outbox``), or after ``send_in`` seconds (< 60)."""
        return await self._update(sms, self._send_fields(send_in, {"local_phone": local_phone}))

    async def schedule(self, sms: str | SMS, *, at: datetime, local_phone: str | None = UNSET) -> SMS:
        """Schedule a draft SMS to be sent at ``at`` (timezone-aware)."""
        return await self._schedule(sms, at, {"local_phone": local_phone})
