"""How activities map to tables (SQLite and PostgreSQL): one per ``_type``, a few columns, the JSON."""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from typing import Any

import orjson

__all__ = ["COMMON_COLUMNS", "JSON_COLUMNS", "UNTYPED", "columns_for", "row_values", "table_for"]

#: The ``_type`` (and table) of an activity that arrived without one.
UNTYPED = "activity"
#: Every table has these (``data`` holds the whole object as JSON, ``exported_at`` when written).
COMMON_COLUMNS = (
    "id",
    "lead_id",
    "contact_id",
    "user_id",
    "organization_id",
    "date_created",
    "date_updated",
)
#: Columns lifted out of ``data`` per type, for querying without JSON functions.
#: Lists and objects (``to``, ``attendees``) are stored as JSON text.
TYPE_COLUMNS: dict[str, tuple[str, ...]] = {
    "email": (
        "status",
        "direction",
        "subject",
        "sender",
        "to",
        "cc",
        "bcc",
        "thread_id",
        "date_sent",
        "date_scheduled",
        "template_id",
        "sequence_id",
        "body_text",
    ),
    "sms": (
        "status",
        "direction",
        "local_phone",
        "remote_phone",
        "text",
        "date_sent",
        "date_scheduled",
        "template_id",
    ),
    "call": (
        "status",
        "direction",
        "duration",
        "disposition",
        "phone",
        "local_phone",
        "remote_phone",
        "note",
    ),
    "note": ("title", "note"),
    "meeting": ("status", "title", "starts_at", "ends_at", "duration", "source"),
    "email_thread": ("n_emails", "latest_normalized_subject"),
    "whats_app_message": ("direction", "local_phone", "remote_phone", "message_markdown"),
    "lead_status_change": ("old_status_label", "new_status_label"),
    "opportunity_status_change": ("old_status_label", "new_status_label", "opportunity_id"),
    "task_completed": ("task_id", "task_text"),
}
#: Lifted columns whose value is a list: a store with typed columns gives them a JSON type.
JSON_COLUMNS = frozenset({"to", "cc", "bcc"})
_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_NOT_NAME = re.compile(r"[^a-z0-9_]")


def table_for(type_name: str) -> str:
    """The table of an activity type: ``Email`` -> ``email``, ``EmailThread`` -> ``email_thread``.

    >>> table_for("LeadStatusChange"), table_for("SMS"), table_for("Custom.x-1")
    ('lead_status_change', 'sms', 'custom_x_1')
    """
    name = _NOT_NAME.sub("_", _BOUNDARY.sub("_", type_name).lower()).strip("_")
    return name or UNTYPED


@functools.cache
def columns_for(table: str) -> tuple[str, ...]:
    """The lifted columns of ``table`` (the common ones first), without ``data``."""
    return COMMON_COLUMNS + TYPE_COLUMNS.get(table, ())


def row_values(columns: tuple[str, ...], data: Mapping[str, Any]) -> list[Any]:
    """The values of ``columns`` in ``data``: scalars as they are, lists and objects as JSON."""
    values: list[Any] = []
    for name in columns:
        value = data.get(name)
        if isinstance(value, list | dict):
            value = orjson.dumps(value).decode()
        elif isinstance(value, bool):
            value = int(value)
        values.append(value)
    return values
