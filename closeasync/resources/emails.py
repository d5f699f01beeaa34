"""``close.emails``: Email activities."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Unpack

from ..listing.cursor import SyncCursor
from ..listing.keyset import SyncIterator
from ..models._base import UNSET
from ..models.email import Email
from ..models.enums import MessageStatus
from ..params import ActivityFilters, EmailCreateFields, EmailUpdateFields
from ..pipeline.routes import ROUTES
from ..rules.messages import email_create_errors, email_update_errors
from ._arguments import check_keys
from ._messages import MessageResource, Prepared

if TYPE_CHECKING:
    from ..listing.paginator import AsyncPaginator

__all__ = ["EmailsResource"]

_CREATE_NAMES = EmailCreateFields.__annotations__
_UPDATE_NAMES = EmailUpdateFields.__annotations__


class EmailsResource(MessageResource[Email]):
    """Email activities: one object per email message.

    >>> async def example(close):  # doctest: +SKIP
    ...     draft = await close.emails.create(lead_id="lead_1", status="draft", subject="Hi")
    ...     draft = await close.emails.update(draft, body_text="Hello!")
    ...     return await close.emails.send(draft, sender="me@example.com")
    """

    _model = Email
    _routes = ROUTES["email"]
    _update_rule = staticmethod(email_update_errors)

    def list(
        self,
        *,
        fields: Sequence[str] | None = None,
        page_size: int = 100,
        prefetch: int = 0,
        **filters: Unpack[ActivityFilters],
    ) -> AsyncPaginator[Email]:
        """List emails newest first (by ``date_created``), lazily.

        ``prefetch=N`` (N >= 2) fetches up to N pages at once (see
        :mod:`closeasync.listing.paginator`). Offset paging shifts if emails are created or
        deleted meanwhile, and Close caps ``_skip``: to walk a long or live history
        exactly once, use :meth:`sync`.

        >>> async def example(close, since):  # doctest: +SKIP
        ...     async for email in close.emails.list(lead_id="lead_1", date_created__gt=since):
        ...         print(email.subject)

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
    ) -> SyncIterator[Email]:
        """Walk emails by ``date_created`` (newest first), each exactly once, resumably.

        ``since`` is where to start: ``None`` (the whole history), a timezone-aware
        datetime (emails created at or after it), or the :class:`SyncCursor` of an
        earlier sync to go on from. ``until`` (exclusive) bounds a new walk from above.
        Read ``.cursor`` of the returned iterator to save where it stands. See
        :mod:`closeasync.listing.keyset` for the guarantee.

        >>> async def example(close, saved):  # doctest: +SKIP
        ...     sync = close.emails.sync(since=SyncCursor.from_json(saved) if saved else None)
        ...     async for email in sync:
        ...         print(email.subject)
        ...     return sync.cursor.to_json()

        Raises:
            InvalidRequestError: an unknown filter, a date filter (``since``/``until``
                replace them), a naive datetime, or a cursor of another sync.
        """
        return self._sync(since, until, filters, fields, page_size)

    async def create(
        self, *, lead_id: str, status: MessageStatus | str, **fields: Unpack[EmailCreateFields]
    ) -> Email:
        """Create an email: log one (``inbox``/``sent``), save a ``draft``, or send one.

        ``status="outbox"`` sends it (after ``send_in`` seconds if given, < 60);
        ``status="scheduled"`` sends it at ``date_scheduled``. A ``sender`` is required
        for inbox, scheduled, outbox and error.

        Raises:
            InvalidRequestError: the input breaks one of Close's rules (nothing was sent).
            BadRequestError: Close refused it.
            WriteOutcomeUnknownError: it failed after it may have reached Close (it is never
                repeated: check before creating it again). Cancelling this call while the
                request is out leaves the same doubt, with only the ``CancelledError`` to
                say so; ``create_many(..., stop_after=)`` reports each item's outcome instead.
        """
        return await self._send_create(self._prepare(lead_id=lead_id, status=status, **fields))

    def _prepare(self, *, lead_id: str, status: MessageStatus | str, **fields: Any) -> Prepared:
        check_keys(fields, _CREATE_NAMES, "field of an email")
        return self._prepared({"lead_id": lead_id, "status": status, **fields}, email_create_errors)

    def _prepare_item(self, item: Mapping[str, Any]) -> Prepared:
        return self._prepare(**item)

    async def update(self, email: str | Email, **fields: Unpack[EmailUpdateFields]) -> Email:
        """Change a draft (Close's PUT acts as PATCH: only the given fields change).

        Pass the :class:`Email` instead of its id and the status rules are checked
        before sending (only drafts can be edited; a scheduled or outbox email can
        only be cancelled).

        Raises:
            InvalidRequestError: the change breaks one of Close's rules (nothing was sent).
        """
        check_keys(fields, _UPDATE_NAMES, "field of an email")
        return await self._update(email, fields)

    async def send(self, email: str | Email, *, sender: str | None = UNSET, send_in: int = UNSET) -> Email:
        """Send a draft now (status ``outbox``), or after ``send_in`` seconds (< 60, to allow undo).

        ``sender`` (``"Name" <addr>`` or an address) is needed unless the draft has one.
        """
        return await self._update(email, self._send_fields(send_in, {"sender": sender}))

    async def schedule(self, email: str | Email, *, at: datetime, sender: str | None = UNSET) -> Email:
        """Schedule a draft to be sent at ``at`` (timezone-aware)."""
        return await self._schedule(email, at, {"sender": sender})
