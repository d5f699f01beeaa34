"""``close.activities``: every activity type from one list, as typed models."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal, Unpack

from .. import errors
from .._routes import ROUTES
from .._serde import StructureError, converter
from ..models.activity import ActivityBase
from ..models.registry import Activity
from ..pagination import AsyncPaginator
from ..params import ActivityFilters
from ._messages import _page
from ._params import check_query, fields_param, filters_query

if TYPE_CHECKING:
    from ..client import CloseAsync

__all__ = ["ActivitiesResource"]

#: Filters Close accepts on ``GET /activity/`` only together with a single ``lead_id``.
_SINGLE_LEAD_ONLY = ("user_id", "contact_id", "types", "user_id__in", "contact_id__in")
_DATE_FILTERS = tuple(
    f"{field}__{op}" for field in ("date_created", "activity_at") for op in ("gt", "gte", "lt", "lte")
)


class ActivitiesResource:
    """The all-activities list (``GET /activity/``)."""

    def __init__(self, client: CloseAsync) -> None:
        self._client = client
        self._hook = converter.get_structure_hook(Activity)

    def _structure(self, data: Any) -> Activity:
        try:
            activity: Activity = self._hook(data, Activity)
        except StructureError as exc:
            raise errors.ResponseValidationError(
                f"activity does not fit its model: {exc}", status=200, body=b""
            ) from exc
        return activity

    def list(
        self,
        *,
        types: Sequence[str | type[ActivityBase]] | None = None,
        user_id__in: Sequence[str] | None = None,
        contact_id__in: Sequence[str] | None = None,
        lead_id__in: Sequence[str] | None = None,
        thread_emails: bool | Literal["only"] | None = None,
        order_by: Literal["date_created", "-date_created", "-activity_at"] | None = None,
        fields: Sequence[str] | None = None,
        page_size: int = 100,
        **filters: Unpack[ActivityFilters],
    ) -> AsyncPaginator[Activity]:
        """List activities of every type, newest first, each as its own model.

        ``types`` (``"Email"``, ``"SMS"``, a model class such as ``Call``, or a custom
        activity type id) and the ``user_id``/``contact_id`` filters work only for a
        single ``lead_id``, as Close documents; ``activity_at`` filters need
        ``order_by="-activity_at"``, which also needs ``lead_id``. ``thread_emails``
        is ``True`` (threads and stripped emails) or ``"only"`` (threads only).
        Types this version does not model arrive as
        :class:`~closeasync.models.UnknownActivity` rather than failing.

        >>> async def example(close):  # doctest: +SKIP
        ...     async for activity in close.activities.list(lead_id="lead_1", types=["Email", "SMS"]):
        ...         print(type(activity).__name__, activity.id)

        Raises:
            InvalidRequestError: a filter combination Close does not allow.
        """
        query = filters_query(filters)
        type_names = None if types is None else [t if isinstance(t, str) else t.TYPE for t in types]
        given = {
            "user_id": filters.get("user_id"),
            "contact_id": filters.get("contact_id"),
            "types": type_names,
            "user_id__in": user_id__in,
            "contact_id__in": contact_id__in,
        }
        problems = {}
        lead_id = filters.get("lead_id")
        single_lead = isinstance(lead_id, str) or (isinstance(lead_id, Sequence) and len(lead_id) == 1)
        for name in _SINGLE_LEAD_ONLY:
            if given[name] is not None and not single_lead:
                problems[name] = "can only be used together with a single lead_id"
        if order_by == "-activity_at" and not single_lead:
            problems["_order_by"] = "-activity_at can only be used together with a single lead_id"
        # Close allows only the date filters of the field being sorted on.
        sorted_on = "activity_at" if order_by == "-activity_at" else "date_created"
        for name in _DATE_FILTERS:
            if name in filters and not name.startswith(sorted_on):
                problems[name] = (
                    "activity_at filters need order_by='-activity_at'"
                    if sorted_on == "date_created"
                    else "only activity_at filters can be used with order_by='-activity_at'"
                )
        if thread_emails not in (None, True, False, "only"):
            problems["thread_emails"] = "must be True, False or 'only'"
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
                # The union needs _type to tell the models apart, so always ask for it.
                "_fields": fields_param(fields, always=("_type",)),
            }
        )
        check_query(query)
        route = ROUTES["activity"]["list"]

        async def fetch(skip: int, limit: int) -> tuple[list[Any], bool]:
            data = await self._client._call(route, query={**query, "_skip": skip or None, "_limit": limit})
            return _page(data)

        return AsyncPaginator(fetch, self._structure, page_size=page_size)
