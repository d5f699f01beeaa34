"""What Email and SMS resources share: the CRUD calls, the send/schedule/cancel helpers,
sync, and the bulk helpers."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Generic, NamedTuple, TypeVar

from .. import errors
from ..bulk import BulkResult, check_concurrency, run_bounded
from ..listing.cursor import SyncCursor, start_cursor
from ..listing.keyset import SyncIterator
from ..listing.paginator import AsyncPaginator
from ..listing.rules import PageRequest
from ..models._base import UNSET, is_loaded
from ..models._converter import StructureError
from ..models.email import Email
from ..models.responses import Structurer
from ..models.sms import SMS
from ..pipeline.routes import Route
from ..pipeline.wire import QueryValue
from ._arguments import check_query, fields_param, filters_query, sync_filters, sync_scope, to_wire_body
from ._base import Resource

if TYPE_CHECKING:
    from ..pipeline.requester import Requester

__all__ = ["MessageResource", "Prepared"]

M = TypeVar("M", Email, SMS)
Rule = Callable[[Mapping[str, Any], Mapping[str, Any] | None], dict[str, str]]
log = logging.getLogger("closeasync")

#: Ids looked up per request by ``get_many`` (Close's largest ``_limit``).
LOOKUP_BATCH = 100


class Prepared(NamedTuple):
    """A create checked and ready to send: nothing about it can fail before sending."""

    body: dict[str, Any]
    query: dict[str, QueryValue] | None
    sends: bool


class MessageResource(Resource, Generic[M]):
    """The calls common to :class:`EmailsResource` and :class:`SMSResource`."""

    _model: type[M]
    _routes: dict[str, Route]
    _update_rule: Rule

    def __init__(self, requester: Requester) -> None:
        super().__init__(requester)
        self._structurer: Structurer[M] = self._structurer_for(self._model, self._model.__name__)

    @staticmethod
    def _id_of(target: str | M) -> str:
        if isinstance(target, str):
            return target
        ident = getattr(target, "id", None)
        if not isinstance(ident, str):
            raise errors.InvalidRequestError({"id": "the model has no id loaded"})
        return ident

    async def get(self, target: str | M, *, fields: Sequence[str] | None = None) -> M:
        """Fetch one by id; ``fields`` asks for only those fields (a partial model).

        Raises:
            NotFoundError: no such id.
        """
        # Straight to the requester, not through ``_one``: a coroutine less on the path of
        # every single GET (its creation, and a frame to pass at each suspension).
        query = None if fields is None else {"_fields": fields_param(fields)}
        ident = target if target.__class__ is str else self._id_of(target)
        data, response = await self._requester.exchange(
            self._routes["get"], path_params={"id": ident}, query=query
        )
        return self._structurer.one(data, response)

    async def delete(self, target: str | M) -> None:
        """Delete one by id (or model).

        Raises:
            NotFoundError: no such id.
        """
        await self._requester.call(self._routes["delete"], path_params={"id": self._id_of(target)})

    def _paginate(
        self, filters: Mapping[str, Any], fields: Sequence[str] | None, page_size: int, prefetch: int
    ) -> AsyncPaginator[M]:
        """Validate the filters now and return a lazy paginator over the list route."""
        query = filters_query(filters)
        query["_fields"] = fields_param(fields)
        check_query(query)
        return self._listing(
            self._structurer, self._routes["list"], query, page_size=page_size, prefetch=prefetch
        )

    def _sync(
        self,
        since: datetime | SyncCursor | None,
        until: datetime | None,
        filters: Mapping[str, Any],
        fields: Sequence[str] | None,
        page_size: int,
    ) -> SyncIterator[M]:
        """Validate now and return a lazy sync over the list route."""
        query = sync_filters(filters)
        route = self._routes["list"]
        cursor = start_cursor(sync_scope(route, query), since)
        query["_fields"] = fields_param(fields, always=("id", "date_created"))
        check_query(query)
        fetch = self._pages_of(route, query)
        return SyncIterator(fetch, self._structurer, cursor=cursor, until=until, page_size=page_size)

    # -- create, update -----------------------------------------------------------------------

    def _prepared(
        self,
        fields: Mapping[str, Any],
        rule: Callable[[Mapping[str, Any]], dict[str, str]],
        query: dict[str, QueryValue] | None = None,
    ) -> Prepared:
        body = to_wire_body(fields)
        problems = rule(body)
        if problems:
            raise errors.InvalidRequestError(problems)
        return Prepared(body, query, _sends(body))

    def _prepare_item(self, item: Mapping[str, Any]) -> Prepared:
        """Check one ``create_many`` item as ``create(**item)`` would."""
        raise NotImplementedError

    async def _send_create(self, prepared: Prepared) -> M:
        return await self._one(
            self._structurer,
            self._routes["create"],
            query=prepared.query,
            json=prepared.body,
            sends=prepared.sends,
        )

    async def _update(self, target: str | M, fields: Mapping[str, Any]) -> M:
        body = to_wire_body(fields)
        if not body:
            raise errors.InvalidRequestError({}, ["nothing to update: pass at least one field"])
        # With a model in hand, Close's status rules can be checked before sending.
        current = None if isinstance(target, str) else _state_of(target)
        problems = type(self)._update_rule(body, current)
        if problems:
            raise errors.InvalidRequestError(problems)
        return await self._one(
            self._structurer,
            self._routes["update"],
            path_params={"id": self._id_of(target)},
            json=body,
            sends=_sends(body),
        )

    async def _schedule(self, target: str | M, at: datetime, extra: Mapping[str, Any]) -> M:
        fields = {k: v for k, v in extra.items() if v is not UNSET}
        return await self._update(target, {**fields, "status": "scheduled", "date_scheduled": at})

    async def cancel(self, target: str | M) -> M:
        """Cancel a scheduled or outbox message that has not left; it becomes a draft again."""
        return await self._update(target, {"status": "draft"})

    def _send_fields(self, send_in: int, extra: Mapping[str, Any]) -> dict[str, Any]:
        fields = {k: v for k, v in extra.items() if v is not UNSET}
        fields["status"] = "outbox"
        if send_in is not UNSET:
            fields["send_in"] = send_in
        return fields

    # -- bulk --------------------------------------------------------------------------------------

    async def get_many(
        self, ids: Iterable[str], *, fields: Sequence[str] | None = None, concurrency: int = 8
    ) -> BulkResult[str, M]:
        """Fetch many by id, at most ``concurrency`` requests at a time.

        Ids are looked up :data:`LOOKUP_BATCH` at a time with the list's ``id__in``
        filter (one request per batch, not per id); an id a batch did not return is
        then fetched on its own, so its error is Close's own answer (a
        :class:`~closeasync.errors.NotFoundError`, say). A batch that fails gives its
        error to each of its ids. Repeated ids are looked up once.

        Returns:
            A :class:`~closeasync.bulk.BulkResult` keyed by id, in input order.

        Raises:
            InvalidRequestError: an id that is not a non-empty string, or bad ``fields``
                or ``concurrency`` (nothing was sent).
        """
        if isinstance(ids, str):
            raise errors.InvalidRequestError({"ids": "pass a list of ids, not one string"})
        wanted = list(dict.fromkeys(ids))
        bad = [repr(i) for i in wanted if not isinstance(i, str) or not i.strip()]
        if bad:
            raise errors.InvalidRequestError({"ids": f"must be non-empty strings, got {', '.join(bad[:5])}"})
        check_concurrency(concurrency)
        field_list = fields_param(fields, always=("id",)) if fields is not None else None
        lookup = self._pages_of(self._routes["list"], {"_fields": field_list})
        found: dict[str, M | Exception] = {}

        async def batch(chunk: list[str]) -> None:
            try:
                got = await lookup.fetch(PageRequest(0, len(chunk), {"id__in": chunk}))
            except Exception as exc:
                for ident in chunk:
                    found[ident] = exc
                return
            asked = set(chunk)
            origin = self._structurer.origin(got.info)
            for index, raw in enumerate(got.items):
                key = raw.get("id") if isinstance(raw, dict) else None
                if not isinstance(key, str) or key not in asked:
                    continue
                try:
                    found[key] = self._structurer.hook(raw, self._model, origin)
                except StructureError as exc:
                    found[key] = self._structurer.misfit(raw, exc, got.info, f"item {index} of the lookup")

        chunks = [wanted[i : i + LOOKUP_BATCH] for i in range(0, len(wanted), LOOKUP_BATCH)]
        await run_bounded(chunks, batch, concurrency)
        missing = [ident for ident in wanted if ident not in found]
        single_fields = _with_id(fields)
        singles = await run_bounded(missing, lambda i: self.get(i, fields=single_fields), concurrency)
        found.update(zip(missing, singles, strict=True))
        return BulkResult(wanted, [found[ident] for ident in wanted])

    async def create_many(
        self, items: Iterable[Mapping[str, Any]], *, concurrency: int = 4
    ) -> BulkResult[int, M]:
        """Create many, at most ``concurrency`` at a time; each item holds ``create``'s arguments.

        Every item is checked first, as ``create(**item)`` would check it: one that
        breaks a rule fails with its :class:`~closeasync.errors.InvalidRequestError`
        (or ``TypeError`` for a missing or unknown argument) and nothing is sent for
        it. The others are sent; a create is never repeated once it may have reached
        Close, so one whose fate is unknown fails with
        :class:`~closeasync.errors.WriteOutcomeUnknownError` (check before retrying
        it). One failure does not stop the rest.

        Returns:
            A :class:`~closeasync.bulk.BulkResult` keyed by the item's position in ``items``.
        """
        check_concurrency(concurrency)
        outcomes: list[Prepared | Exception] = []
        for item in items:
            try:
                if not isinstance(item, Mapping):
                    raise errors.InvalidRequestError(
                        {}, [f"each item must be a mapping of create() arguments, got {type(item).__name__}"]
                    )
                outcomes.append(self._prepare_item(item))
            except (errors.InvalidRequestError, TypeError) as exc:
                outcomes.append(exc)
        ready = [i for i, outcome in enumerate(outcomes) if isinstance(outcome, Prepared)]

        async def create(index: int) -> M:
            prepared = outcomes[index]
            assert isinstance(prepared, Prepared)
            return await self._send_create(prepared)

        sent = dict(zip(ready, await run_bounded(ready, create, concurrency), strict=True))
        results = [
            outcome if isinstance(outcome, Exception) else sent[i] for i, outcome in enumerate(outcomes)
        ]
        return BulkResult(list(range(len(results))), results)


#: What the status rules need to know of a message in hand.
_STATE_FIELDS = ("status", "sender", "local_phone", "date_scheduled")


def _state_of(message: Email | SMS) -> dict[str, Any]:
    """The loaded state fields of a message, as JSON (not the whole, maybe large, model)."""
    # Only what the message holds: a field Close left out (or fields= left out) tells nothing.
    return to_wire_body({name: getattr(message, name) for name in _STATE_FIELDS if is_loaded(message, name)})


def _with_id(fields: Sequence[str] | None) -> list[str] | None:
    """``fields`` and ``id`` (to tell results apart), or None for every field."""
    return None if fields is None else [*fields, "id"]


def _sends(body: Mapping[str, Any]) -> bool:
    """Whether this body makes Close send the message (so it must never be repeated)."""
    return body.get("status") in ("outbox", "scheduled")
