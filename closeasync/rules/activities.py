"""Close's rules for listing activities (``GET /activity/``), as pure functions over queries.

As with :mod:`closeasync.rules.messages` (Email and SMS bodies), the SDK runs them before
sending and the fake Close runs the same functions to answer 400, so the two cannot
disagree. Each returns ``{field: message}`` using Close's names (empty when valid).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Collection, Iterable

from .filters import DATE_FILTERS

__all__ = [
    "DATE_FILTERS",
    "SINGLE_LEAD_ONLY",
    "activity_list_errors",
    "activity_type_errors",
    "activity_type_filter",
]

Errors = dict[str, str]


#: Filters ``GET /activity/`` accepts only together with a single ``lead_id``.
SINGLE_LEAD_ONLY = ("user_id", "user_id__in", "contact_id", "contact_id__in", "_type", "_type__in")


#: The names ``GET /activity/`` filters ``_type``/``_type__in`` by, as Close documents them:
#: each activity type's ``_type``, except that custom activities (tagged ``CustomActivity``)
#: are asked for as ``Custom``. One custom activity type is asked for by its id instead.
ACTIVITY_TYPE_FILTERS = frozenset(
    {
        "Call",
        "Created",
        "Custom",
        "Email",
        "EmailThread",
        "FormSubmission",
        "LeadMerge",
        "LeadStatusChange",
        "Meeting",
        "Note",
        "OpportunityStatusChange",
        "SMS",
        "TaskCompleted",
        "WhatsAppMessage",
    }
)
#: A custom activity type id, which filters by that one type (``actitype_`` + base62).
CUSTOM_ACTIVITY_TYPE_ID = re.compile(r"actitype_[0-9A-Za-z]+")
_FILTER_NAME_OF_TAG = {"CustomActivity": "Custom"}


def activity_type_filter(tag: str) -> str:
    """The ``_type`` filter value that lists activities tagged ``tag`` (``_type`` of the object).

    >>> activity_type_filter("Email"), activity_type_filter("CustomActivity")
    ('Email', 'Custom')
    """
    return _FILTER_NAME_OF_TAG.get(tag, tag)


def _type_filter_problem(value: str) -> str | None:
    if value in ACTIVITY_TYPE_FILTERS or CUSTOM_ACTIVITY_TYPE_ID.fullmatch(value):
        return None
    if value in _FILTER_NAME_OF_TAG:
        return (
            f"{value!r} is the _type of the objects, not a filter Close knows: "
            f"use {_FILTER_NAME_OF_TAG[value]!r} for every custom activity, "
            "or a custom activity type id ('actitype_...') for one type"
        )
    if "," in value:
        return f"{value!r}: give one activity type per item, not several separated by commas"
    folded = {name.casefold(): name for name in ACTIVITY_TYPE_FILTERS}
    guess = folded.get(value.casefold()) or next(
        iter(difflib.get_close_matches(value, sorted(ACTIVITY_TYPE_FILTERS), n=1)), None
    )
    hint = f" (did you mean {guess!r}?)" if guess else ""
    return (
        f"{value!r} is not an activity type Close knows{hint}: use one of "
        f"{', '.join(sorted(ACTIVITY_TYPE_FILTERS))}, or a custom activity type id ('actitype_...')"
    )


def activity_type_errors(field: str, values: Iterable[str]) -> Errors:
    """Check the values of a ``_type``/``_type__in`` filter of an activity list.

    Close takes an activity type's name (``Email``, ``SMS``), ``Custom`` for every
    custom activity, or a custom activity type id (``actitype_...``) for one custom
    type. ``CustomActivity``, the ``_type`` custom activities carry, is not among
    them. The first unknown value is reported under ``field``.

    >>> activity_type_errors("_type__in", ["Email", "Custom", "actitype_1h5m6uHM9BZOpwVhyRJb4Y"])
    {}
    >>> activity_type_errors("_type__in", ["email"])["_type__in"].partition(":")[0]
    "'email' is not an activity type Close knows (did you mean 'Email'?)"
    """
    for value in values:
        problem = _type_filter_problem(value)
        if problem is not None:
            return {field: problem}
    return {}


def activity_list_errors(
    params: Collection[str], *, single_lead: bool, order_by: str | None, thread_emails: object
) -> Errors:
    """Check the query of ``GET /activity/`` against Close's documented combinations.

    ``params`` are the query parameter names given (Close's names); ``single_lead``
    whether ``lead_id`` names exactly one lead. Close allows the user, contact and
    type filters, and sorting by ``activity_at``, only for a single lead, and only the
    date filters of the field being sorted on.
    """
    errors: Errors = {}
    for name in SINGLE_LEAD_ONLY:
        if name in params and not single_lead:
            errors[name] = "can only be used together with a single lead_id"
    activity_order = isinstance(order_by, str) and order_by.lstrip("-") == "activity_at"
    sorted_on = "activity_at" if activity_order else "date_created"
    if sorted_on == "activity_at" and not single_lead:
        errors["_order_by"] = f"{order_by} can only be used together with a single lead_id"
    for name in DATE_FILTERS:
        if name in params and not name.startswith(sorted_on):
            errors[name] = (
                "activity_at filters need _order_by=-activity_at"
                if sorted_on == "date_created"
                else f"only activity_at filters can be used with _order_by={order_by}"
            )
    # A bool (the SDK's), or the text a query carries; 1 and 0 are not booleans here.
    if not (thread_emails is None or isinstance(thread_emails, bool) or thread_emails in ("true", "only")):
        errors["thread_emails"] = "must be true or only"
    return errors
