"""What Email and SMS resources share: the CRUD calls and the send/schedule/cancel helpers."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import attrs

from .. import errors
from .._routes import Route
from .._serde import StructureError, converter
from ..models._base import UNSET
from ..models.email import Email
from ..models.sms import SMS
from ..pagination import AsyncPaginator
from ._params import check_query, fields_param, filters_query, to_wire_body

if TYPE_CHECKING:
    from ..client import CloseAsync

__all__ = ["MessageResource"]

M = TypeVar("M", Email, SMS)
Rule = Callable[[Mapping[str, Any], Mapping[str, Any] | None], dict[str, str]]
log = logging.getLogger("closeasync")


class MessageResource(Generic[M]):
    """The calls common to :class:`EmailsResource` and :class:`SMSResource`."""

    _model: type[M]
    _routes: dict[str, Route]
    _update_rule: Rule

    def __init__(self, client: CloseAsync) -> None:
        self._client = client
        self._structure_hook = converter.get_structure_hook(self._model)

    def _structure(self, data: Any) -> M:
        try:
            model: M = self._structure_hook(data, self._model)
        except StructureError as exc:
            raise errors.ResponseValidationError(
                f"{self._model.__name__} response does not fit the model: {exc}",
                status=200,
                body=b"",
            ) from exc
        return model

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
        query = {"_fields": fields_param(fields)}
        data = await self._client._call(
            self._routes["get"], path_params={"id": self._id_of(target)}, query=query
        )
        return self._structure(data)

    async def delete(self, target: str | M) -> None:
        """Delete one by id (or model).

        Raises:
            NotFoundError: no such id.
        """
        await self._client._call(self._routes["delete"], path_params={"id": self._id_of(target)})

    def _paginate(
        self, filters: Mapping[str, Any], fields: Sequence[str] | None, page_size: int
    ) -> AsyncPaginator[M]:
        """Validate the filters now and return a lazy paginator over the list route."""
        query = filters_query(filters)
        query["_fields"] = fields_param(fields)
        check_query(query)
        route = self._routes["list"]

        async def fetch(skip: int, limit: int) -> tuple[list[Any], bool]:
            data = await self._client._call(route, query={**query, "_skip": skip or None, "_limit": limit})
            return _page(data)

        return AsyncPaginator(fetch, self._structure, page_size=page_size)

    async def _create(
        self,
        fields: Mapping[str, Any],
        rule: Callable[[Mapping[str, Any]], dict[str, str]],
        query: Mapping[str, Any] | None = None,
    ) -> M:
        body = to_wire_body(fields)
        problems = rule(body)
        if problems:
            raise errors.InvalidRequestError(problems)
        data = await self._client._call(self._routes["create"], query=query, json=body, sends=_sends(body))
        return self._structure(data)

    async def _update(self, target: str | M, fields: Mapping[str, Any]) -> M:
        body = to_wire_body(fields)
        if not body:
            raise errors.InvalidRequestError({}, ["nothing to update: pass at least one field"])
        # With a model in hand, Close's status rules can be checked before sending.
        current = None if isinstance(target, str) else _state_of(target)
        problems = type(self)._update_rule(body, current)
        if problems:
            raise errors.InvalidRequestError(problems)
        data = await self._client._call(
            self._routes["update"], path_params={"id": self._id_of(target)}, json=body, sends=_sends(body)
        )
        return self._structure(data)

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


#: What the status rules need to know of a message in hand.
_STATE_FIELDS = ("status", "sender", "local_phone", "date_scheduled")


def _state_of(message: Email | SMS) -> dict[str, Any]:
    """The loaded state fields of a message, as JSON (not the whole, maybe large, model)."""
    names = attrs.fields_dict(type(message))
    return to_wire_body({name: getattr(message, name, UNSET) for name in _STATE_FIELDS if name in names})


def _sends(body: Mapping[str, Any]) -> bool:
    """Whether this body makes Close send the message (so it must never be repeated)."""
    return body.get("status") in ("outbox", "scheduled")


def _page(data: Any) -> tuple[list[Any], bool]:
    """Check a list response's envelope and return its items and ``has_more``."""
    items = data.get("data") if isinstance(data, dict) else None
    has_more = data.get("has_more", False) if isinstance(data, dict) else None
    if not isinstance(items, list) or not isinstance(has_more, bool):
        raise errors.ResponseValidationError(
            "a list response must be an object with a 'data' list and a boolean 'has_more'",
            status=200,
            body=b"",
        )
    return items, has_more
