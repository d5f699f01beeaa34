"""What every typed activity resource shares: get, delete, list, sync, get_many, and
creates and updates checked by Close's rules before sending.

A resource is this base parametrised by its model, its routes (``ROUTES[...]``), its update
rule (from :mod:`closeasync.rules`) and the fields of a model in hand that rule reads;
it adds its own typed ``create``/``update`` (their TypedDicts, its create rule).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, Generic, NamedTuple, TypeVar, Unpack

from .. import errors
from ..bulk import BulkResult, check_concurrency, check_stop_after, run_bounded
from ..listing.cursor import SyncCursor, start_cursor
from ..listing.keyset import SyncIterator
from ..listing.paginator import AsyncPaginator
from ..listing.rules import PageRequest
from ..models._base import is_loaded
from ..models._converter import StructureError
from ..models.activity import ActivityBase
from ..models.responses import Structurer
from ..params import ActivityFilters
from ..pipeline.routes import Route
from ..pipeline.wire import QueryValue
from ..rules._fields import shown
from ..rules.filters import one_id_problem
from ._arguments import (
    check_query,
    fields_param,
    filters_query,
    path_id,
    sync_filters,
    sync_scope,
    to_wire_body,
)
from ._base import Resource

if TYPE_CHECKING:
    from ..pipeline.requester import Requester

__all__ = ["LOOKUP_BATCH", "ActivityResource", "CreatableResource", "Prepared"]

M = TypeVar("M", bound=ActivityBase)
CreateRule = Callable[[Mapping[str, Any]], dict[str, str]]
UpdateRule = Callable[[Mapping[str, Any], Mapping[str, Any] | None], dict[str, str]]

#: Ids looked up per request by ``get_many`` (Close's largest ``_limit``).
LOOKUP_BATCH = 100


class Prepared(NamedTuple):
    """A create checked and ready to send: nothing about it can fail before sending."""

    body: dict[str, Any]
    query: dict[str, QueryValue] | None
    sends: bool


class ActivityResource(Resource, Generic[M]):
    """One activity type's endpoints: get, delete, list, sync and get_many (and a checked update)."""

    _model: type[M]
    _routes: dict[str, Route]
    #: Close's update rule, given the body and what is known of the object (or None).
    _update_rule: UpdateRule | None = None
    #: The fields of a model in hand the update rule reads (they are checked before sending).
    _state_fields: ClassVar[tuple[str, ...]] = ()

    def __init__(self, requester: Requester) -> None:
        super().__init__(requester)
        self._structurer: Structurer[M] = self._structurer_for(self._model, self._model.__name__)

    @staticmethod
    def _id_of(target: str | M) -> str:
        """The id of ``target`` (an id, or a model holding one), checked to fit in a URL path."""
        if isinstance(target, str):
            return path_id(target)
        if not isinstance(target, ActivityBase):
            raise errors.InvalidRequestError({"id": f"must be an id or a model, got {shown(target)}"})
        ident = getattr(target, "id", None)
        if not isinstance(ident, str):
            raise errors.InvalidRequestError({"id": "the model has no id loaded"})
        return path_id(ident)

    async def get(self, target: str | M, *, fields: Sequence[str] | None = None) -> M:
        """Fetch one by id; ``fields`` asks for only those fields (a partial model).

        Raises:
            NotFoundError: no such id.
        """
        # Straight to the requester, not through ``_one``: a coroutine less on the path of
        # every single GET (its creation, and a frame to pass at each suspension).
        query = None if fields is None else {"_fields": fields_param(fields)}
        # A string is checked where the route puts it in the path (one rule, path_id_problem).
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

    def _sends(self, body: Mapping[str, Any]) -> bool:
        """Whether this body makes Close send something (so it must never be repeated)."""
        return False

    def _prepared(
        self,
        fields: Mapping[str, Any],
        rule: CreateRule,
        query: dict[str, QueryValue] | None = None,
    ) -> Prepared:
        body = to_wire_body(fields)
        problems = rule(body)
        if problems:
            raise errors.InvalidRequestError(problems)
        return Prepared(body, query, self._sends(body))

    async def _send_create(self, prepared: Prepared) -> M:
        return await self._one(
            self._structurer,
            self._routes["create"],
            query=prepared.query,
            json=prepared.body,
            sends=prepared.sends,
        )

    async def _update(self, target: str | M, fields: Mapping[str, Any]) -> M:
        ident = self._id_of(target)
        body = to_wire_body(fields)
        if not body:
            raise errors.InvalidRequestError({}, ["nothing to update: pass at least one field"])
        rule = type(self)._update_rule
        if rule is not None:
            # With a model in hand, the rules that depend on its state are checked before sending.
            current = None if isinstance(target, str) else self._state_of(target)
            problems = rule(body, current)
            if problems:
                raise errors.InvalidRequestError(problems)
        return await self._one(
            self._structurer,
            self._routes["update"],
            path_params={"id": ident},
            json=body,
            sends=self._sends(body),
        )

    def _state_of(self, model: M) -> dict[str, Any]:
        """The loaded state fields of a model, as JSON (not the whole, maybe large, model)."""
        # Only what the model holds: a field Close left out (or fields= left out) tells nothing.
        names = self._state_fields
        return to_wire_body({name: getattr(model, name) for name in names if is_loaded(model, name)})

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
            InvalidRequestError: an id that is not one id (not a string, blank, padded with
                spaces, holding a comma), or bad ``fields`` or ``concurrency`` (nothing was sent).
        """
        if isinstance(ids, str) or not isinstance(ids, Iterable):
            kind = "one string" if isinstance(ids, str) else type(ids).__name__
            raise errors.InvalidRequestError({"ids": f"pass a list of ids, not {kind}"})
        given = list(ids)
        # Each goes into the id__in lookup: the id filters' rule (no comma, no blank, no
        # padding, encodable), or Close would refuse the whole batch, good ids with it.
        bad = [shown(i) for i in given if one_id_problem(i) is not None]
        if bad:
            raise errors.InvalidRequestError({"ids": f"must be non-empty ids, got {', '.join(bad[:5])}"})
        wanted = list(dict.fromkeys(given))
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
        single_fields = None if fields is None else [*fields, "id"]  # the id tells results apart
        singles = await run_bounded(missing, lambda i: self.get(i, fields=single_fields), concurrency)
        found.update(zip(missing, singles, strict=True))
        return BulkResult(wanted, [found[ident] for ident in wanted])

    # -- listing (last: ``list`` names the method below this point) ---------------------------

    def sync(
        self,
        since: datetime | SyncCursor | None = None,
        *,
        until: datetime | None = None,
        fields: Sequence[str] | None = None,
        page_size: int = 100,
        **filters: Unpack[ActivityFilters],
    ) -> SyncIterator[M]:
        """Walk them by ``date_created`` (newest first), each exactly once, resumably.

        ``since`` is where to start: ``None`` (the whole history), a timezone-aware
        datetime (created at or after it), or the :class:`SyncCursor` of an earlier sync
        to go on from; ``until`` (exclusive) bounds a new walk from above. Read ``.cursor``
        of the returned iterator to save where it stands (see :mod:`closeasync.listing.keyset`).

        Raises:
            InvalidRequestError: an unknown filter, a date filter (``since``/``until``
                replace them), a naive datetime, or a cursor of another sync.
        """
        return self._sync(since, until, filters, fields, page_size)

    def list(
        self,
        *,
        fields: Sequence[str] | None = None,
        page_size: int = 100,
        prefetch: int = 0,
        **filters: Unpack[ActivityFilters],
    ) -> AsyncPaginator[M]:
        """List them newest first (by ``date_created``), lazily; nothing is sent until iterated.

        The filters are Close's activity filters (``lead_id``, ``contact_id``, ``user_id``,
        ``id__in``, ``date_created__gte``, ``activity_at__lt``...); ``fields`` asks for only
        those fields. ``prefetch=N`` (N >= 2) fetches up to N pages at once. Offset paging
        shifts if objects are created or deleted meanwhile: to walk a long or live history
        exactly once, use :meth:`sync`.

        Raises:
            InvalidRequestError: an unknown filter name, an empty id list, or a bad
                ``page_size``/``prefetch``.
        """
        return self._paginate(filters, fields, page_size, prefetch)


class CreatableResource(ActivityResource[M]):
    """An activity type Close lets the API create: adds ``create_many``."""

    def _prepare_item(self, item: Mapping[str, Any]) -> Prepared:
        """Check one ``create_many`` item as ``create(**item)`` would."""
        raise NotImplementedError

    async def create_many(
        self, items: Iterable[Mapping[str, Any]], *, concurrency: int = 4, stop_after: float | None = None
    ) -> BulkResult[int, M]:
        """Create many, at most ``concurrency`` at a time; each item holds ``create``'s arguments.

        Every item is checked first, as ``create(**item)`` would check it: one that
        breaks a rule fails with its :class:`~closeasync.errors.InvalidRequestError`
        (or ``TypeError`` for a missing or unknown argument) and nothing is sent for
        it. The others are sent; a create is never repeated once it may have reached
        Close, so one whose fate is unknown fails with
        :class:`~closeasync.errors.WriteOutcomeUnknownError` (check before retrying
        it; :attr:`BulkResult.unknown <closeasync.bulk.BulkResult.unknown>` lists them).
        One failure does not stop the rest.

        ``stop_after`` bounds the whole batch in seconds, and is the way to stop one early
        and still learn every item's outcome: when it passes, a create being sent fails
        with ``WriteOutcomeUnknownError`` (it may have reached Close), and one not yet
        sent with :class:`~closeasync.errors.RequestTimeoutError` whose
        ``may_have_reached_server`` is False (safe to send again). Cancelling the call
        from outside instead (a cancel scope, Ctrl-C) can return nothing: the
        cancellation propagates with a note naming the positions that were being sent,
        whose outcome is unknown.

        >>> async def example(close, rows):  # doctest: +SKIP
        ...     result = await close.emails.create_many(rows, stop_after=30)
        ...     retry_safely = [rows[i] for i, e in result.errors.items()
        ...                     if isinstance(e, TransportError) and not e.may_have_reached_server]
        ...     check_first = list(result.unknown)  # positions that may exist in Close

        Returns:
            A :class:`~closeasync.bulk.BulkResult` keyed by the item's position in ``items``.
        """
        check_concurrency(concurrency)
        check_stop_after(stop_after)
        if isinstance(items, str | Mapping) or not isinstance(items, Iterable):
            raise errors.InvalidRequestError(
                {"items": f"pass a list of create() arguments (mappings), not {type(items).__name__}"}
            )
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

        route = self._routes["create"]
        url = self._requester.connection.base_url + route.template

        def cut(index: int, started: bool) -> Exception:
            if started:
                return errors.WriteOutcomeUnknownError(
                    f"create_many's stop_after passed while item {index} was being sent: it may have "
                    "been created; check before sending it again",
                    method=route.method,
                    url=url,
                )
            return errors.RequestTimeoutError(
                f"create_many's stop_after passed before item {index} was sent (nothing was sent)",
                may_have_reached_server=False,
                method=route.method,
                url=url,
            )

        sent = dict(
            zip(
                ready,
                await run_bounded(ready, create, concurrency, stop_after=stop_after, cut=cut),
                strict=True,
            )
        )
        results = [
            outcome if isinstance(outcome, Exception) else sent[i] for i, outcome in enumerate(outcomes)
        ]
        return BulkResult(list(range(len(results))), results)
