"""``close.activities``: every activity type from one list, as typed models."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, TypeAlias, Unpack

from .. import errors
from ..listing.cursor import SyncCursor, start_cursor
from ..listing.keyset import SyncIterator
from ..listing.paginator import AsyncPaginator
from ..models.activity import ActivityBase
from ..models.registry import ACTIVITY_BY_RESOURCE, Activity
from ..models.responses import Structurer
from ..params import ActivityFilters
from ..pipeline.routes import ROUTES
from ..pipeline.wire import QueryValue
from ..rules._fields import shown, text_problem
from ..rules.activities import activity_list_errors, activity_type_errors, activity_type_filter
from ..rules.filters import order_problem, sdk_filter_problem
from ._arguments import check_query, fields_param, filters_query, path_id, sync_filters, sync_scope
from ._base import Resource

if TYPE_CHECKING:
    from ..pipeline.requester import Requester

__all__ = ["ActivitiesResource"]

#: What ``types=`` takes: one type (a model class or Close's name), or a list of them.
TypeFilter: TypeAlias = str | type[ActivityBase] | Sequence[str | type[ActivityBase]]

#: The route table's resource of each activity ``_type`` (where to fetch one by id).
_RESOURCE_OF_TYPE = {cls.TYPE: resource for resource, cls in ACTIVITY_BY_RESOURCE.items()}


class ActivitiesResource(Resource):
    """The all-activities list (``GET /activity/``)."""

    def __init__(self, requester: Requester) -> None:
        super().__init__(requester)
        self._structurer: Structurer[Activity] = self._structurer_for(Activity, "activity")
        self._by_type: dict[str, Structurer[Any]] = {}

    def list(
        self,
        *,
        types: TypeFilter | None = None,
        user_id__in: Sequence[str] | None = None,
        contact_id__in: Sequence[str] | None = None,
        lead_id__in: Sequence[str] | None = None,
        thread_emails: bool | Literal["only"] | None = None,
        order_by: Literal["date_created", "-date_created", "-activity_at"] | None = None,
        fields: Sequence[str] | None = None,
        page_size: int = 100,
        prefetch: int = 0,
        **filters: Unpack[ActivityFilters],
    ) -> AsyncPaginator[Activity]:
        """List activities of every type, newest first, each as its own model.

        ``types`` is one activity type or a list of them (sent as Close's ``_type__in``);
        each may be:

        - a model class: ``Email``, ``Call``, ...; ``CustomActivity`` asks for every
          custom activity (Close's ``Custom``);
        - Close's name of a type: ``"Email"``, ``"SMS"``, ``"Call"``, ...; ``"Custom"``
          for every custom activity;
        - a custom activity type id (``"actitype_..."``) for that custom type only.

        A lone string is one type's name (``types="Email"``), never split. ``"CustomActivity"``
        (the ``_type`` custom activities carry) is not a filter Close knows, so it is
        refused, as are other unknown names, an empty list and names joined by commas.
        ``types`` and the ``user_id``/``contact_id`` filters work only for a
        single ``lead_id``, as Close documents; ``activity_at`` filters need
        ``order_by="-activity_at"``, which also needs ``lead_id``. ``thread_emails``
        is ``True`` (threads and stripped emails) or ``"only"`` (threads only).
        Types this version does not model arrive as
        :class:`~closeasync.models.UnknownActivity` rather than failing.
        ``prefetch=N`` (N >= 2) fetches up to N pages at once; to walk a long or live
        history exactly once, use :meth:`sync`.

        >>> async def example(close):  # doctest: +SKIP
        ...     async for activity in close.activities.list(lead_id="lead_1", types=["Email", "SMS"]):
        ...         print(type(activity).__name__, activity.id)
        >>> from closeasync import CloseAsync, InvalidRequestError
        >>> from closeasync.models import CustomActivity
        >>> close = CloseAsync(api_key="api_example")
        >>> custom = close.activities.list(lead_id="lead_1", types=[CustomActivity])  # sends Custom
        >>> try:
        ...     close.activities.list(lead_id="lead_1", types=["CustomActivity"])
        ... except InvalidRequestError as refused:
        ...     print(refused.field_errors["types"].partition(":")[0])
        'CustomActivity' is the model's name, not a filter Close knows

        Raises:
            InvalidRequestError: a filter combination Close does not allow, a ``types``
                item Close does not know, or a filter value of the wrong kind, each
                named (nothing is sent).
        """
        query = self._query(filters, types, user_id__in, contact_id__in, lead_id__in, thread_emails, order_by)
        query["_fields"] = fields_param(fields, always=("_type",))
        check_query(query)
        route = ROUTES["activity"]["list"]
        return self._listing(self._structurer, route, query, page_size=page_size, prefetch=prefetch)

    async def get(self, activity_type: str | type[ActivityBase], activity_id: str) -> Activity:
        """Fetch one activity of a known type by id, as its model.

        ``activity_type`` is the model class (``Note``), or the ``_type`` Close gives it
        (``"Note"``, ``"CustomActivity"``...).

        >>> async def example(close):  # doctest: +SKIP
        ...     note = await close.activities.get("Note", "acti_1")

        Raises:
            InvalidRequestError: an activity type this version cannot fetch by id.
            NotFoundError: no such activity.
            ResponseValidationError: the answer is not one activity of that type.
        """
        name = activity_type.TYPE if isinstance(activity_type, type) else activity_type
        route_key = _RESOURCE_OF_TYPE.get(name) if isinstance(name, str) else None
        if route_key is None:
            known = ", ".join(sorted(_RESOURCE_OF_TYPE))
            raise errors.InvalidRequestError({"activity_type": f"must be one of {known}, got {name!r}"})
        route = ROUTES[route_key]["get"]
        ident = path_id(activity_id, "activity_id")
        structurer = self._by_type.get(name)
        if structurer is None:  # the type's own model: an answer of another _type is refused
            model = ACTIVITY_BY_RESOURCE[route_key]
            structurer = self._by_type[name] = self._structurer_for(model, model.__name__)
        result: Activity = await self._one(structurer, route, path_params={"id": ident})
        return result

    def sync(
        self,
        since: datetime | SyncCursor | None = None,
        *,
        until: datetime | None = None,
        types: TypeFilter | None = None,
        user_id__in: Sequence[str] | None = None,
        contact_id__in: Sequence[str] | None = None,
        lead_id__in: Sequence[str] | None = None,
        thread_emails: bool | Literal["only"] | None = None,
        fields: Sequence[str] | None = None,
        page_size: int = 100,
        **filters: Unpack[ActivityFilters],
    ) -> SyncIterator[Activity]:
        """Walk activities of every type by ``date_created``, each exactly once, resumably.

        The filters are those of :meth:`list` (with the same single-lead rules and
        the same ``types``: model classes, Close's names such as ``"Email"`` or
        ``"Custom"``, custom activity type ids), less the date filters and
        ``order_by``: the walk is newest first by ``date_created``, bounded by
        ``since`` (``None``, a timezone-aware datetime, or the :class:`SyncCursor` of
        an earlier sync) and ``until``. Read ``.cursor`` of the returned iterator to
        save where it stands; see :mod:`closeasync.listing.keyset`.

        >>> async def example(close, cursor):  # doctest: +SKIP
        ...     sync = close.activities.sync(since=cursor, lead_id="lead_1")
        ...     async for activity in sync:
        ...         print(type(activity).__name__, activity.id)
        ...     return sync.cursor

        Raises:
            InvalidRequestError: a filter combination Close does not allow, a
                ``types`` item Close does not know, a date filter, a naive datetime,
                or a cursor of another sync.
        """
        sync_filters(filters)  # refuses the date filters the walk owns
        query = self._query(filters, types, user_id__in, contact_id__in, lead_id__in, thread_emails, None)
        route = ROUTES["activity"]["list"]
        cursor = start_cursor(sync_scope(route, query), since)
        query["_fields"] = fields_param(fields, always=("_type", "id", "date_created"))
        check_query(query)
        fetch = self._pages_of(route, query)
        return SyncIterator(fetch, self._structurer, cursor=cursor, until=until, page_size=page_size)

    @staticmethod
    def _query(
        filters: Mapping[str, Any],
        types: TypeFilter | None,
        user_id__in: Sequence[str] | None,
        contact_id__in: Sequence[str] | None,
        lead_id__in: Sequence[str] | None,
        thread_emails: bool | Literal["only"] | None,
        order_by: str | None,
    ) -> dict[str, QueryValue]:
        """Check Close's rules for ``GET /activity/`` and build its query (no ``_fields``)."""
        query = filters_query(filters)
        type_names, type_problem = _type_filters(types)
        # Close's names for what was given; the user's ``types`` is Close's ``_type__in``.
        given = {
            "user_id": filters.get("user_id"),
            "contact_id": filters.get("contact_id"),
            "_type__in": type_names,
            "user_id__in": user_id__in,
            "contact_id__in": contact_id__in,
        }
        present = {name for name, value in given.items() if value is not None} | set(filters)
        lead_id = filters.get("lead_id")
        single_lead = isinstance(lead_id, str) or (
            isinstance(lead_id, list | tuple | set | frozenset) and len(lead_id) == 1
        )
        problems = activity_list_errors(
            present, single_lead=single_lead, order_by=order_by, thread_emails=thread_emails
        )
        for name, value in (
            ("user_id__in", user_id__in),
            ("contact_id__in", contact_id__in),
            ("lead_id__in", lead_id__in),
        ):
            if value is not None and (problem := sdk_filter_problem(name, value)) is not None:
                problems[name] = problem
        if order_by is not None and (problem := order_problem(order_by)) is not None:
            problems["_order_by"] = problem
        if "_type__in" in problems:
            problems["types"] = problems.pop("_type__in")
        if type_problem is not None:
            # What the items are is the first thing to fix; where they may be used, the next.
            problems["types"] = "; ".join(filter(None, (type_problem, problems.get("types"))))
        if problems:
            raise errors.InvalidRequestError(problems)
        query.update(
            {
                "_type__in": type_names,
                "user_id__in": user_id__in,
                "contact_id__in": contact_id__in,
                "lead_id__in": lead_id__in,
                "thread_emails": thread_emails or None,
                "_order_by": order_by,
            }
        )
        return {k: v for k, v in query.items() if v is not None}


def _type_filters(types: object) -> tuple[list[str] | None, str | None]:
    """Close's ``_type__in`` values for ``types``, or why they cannot be sent.

    ``types`` is one type or a list of them; a lone string is one type's name (never split
    into letters). A model class gives the filter of its ``_type`` (``CustomActivity`` ->
    ``Custom``); a string must already be Close's (checked by
    :mod:`closeasync.rules.activities`, which the fake runs too). Repeats are sent once.
    """
    if types is None:
        return None, None
    if isinstance(types, str | type):
        types = [types]
    elif isinstance(types, Mapping) or not isinstance(types, Iterable):
        return None, (
            f"must be an activity type or a list of them, e.g. types=['Email', 'SMS'], got {shown(types)}"
        )
    names: list[str] = []
    for index, item in enumerate(types):
        if isinstance(item, str):
            if (problem := text_problem(item)) is not None:
                return None, f"item {index}: {problem}"
            names.append(item)
        elif (
            isinstance(item, type)
            and issubclass(item, ActivityBase)
            and isinstance(getattr(item, "TYPE", None), str)
        ):
            names.append(activity_type_filter(item.TYPE))
        else:
            what = item.__name__ if isinstance(item, type) else shown(item)
            return None, (
                f"item {index} ({what}) is not an activity type: give a model class such as Email "
                "or CustomActivity, Close's name of a type ('Email', 'Custom'), "
                "or a custom activity type id ('actitype_...')"
            )
    if not names:
        return None, "must name at least one activity type (an empty list would list none)"
    names = list(dict.fromkeys(names))
    if "CustomActivity" in names:
        # The rules refuse it too; this says what to use instead in this SDK's terms.
        return names, (
            "'CustomActivity' is the model's name, not a filter Close knows: use 'Custom' or the "
            "CustomActivity class for every custom activity, or a custom activity type id "
            "('actitype_...') for one type"
        )
    return names, activity_type_errors("types", names).get("types")
