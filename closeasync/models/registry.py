"""The ``Activity`` union: every activity type, told apart by Close's ``_type``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeAlias

from cattrs import Converter

from ._base import Model
from .activity import ActivityBase, UnknownActivity
from .call import Call
from .created import Created
from .custom import CustomActivity
from .email import Email
from .form_submission import FormSubmission
from .lead_merge import LeadMerge
from .meeting import Meeting
from .note import Note
from .sms import SMS
from .status_change import LeadStatusChange, OpportunityStatusChange
from .task_completed import TaskCompleted
from .thread import EmailThread
from .whatsapp import WhatsAppMessage

__all__ = [
    "ACTIVITY_BY_RESOURCE",
    "ACTIVITY_TYPES",
    "Activity",
    "activity_class",
    "register_activity_union",
]

#: Any activity Close can return from ``GET /activity/``.
Activity: TypeAlias = (
    Call
    | Created
    | CustomActivity
    | Email
    | EmailThread
    | FormSubmission
    | LeadMerge
    | LeadStatusChange
    | Meeting
    | Note
    | OpportunityStatusChange
    | SMS
    | TaskCompleted
    | WhatsAppMessage
    | UnknownActivity
)

#: ``_type`` value -> model class, for every type this version models.
ACTIVITY_TYPES: dict[str, type[ActivityBase]] = {
    cls.TYPE: cls
    for cls in (
        Call,
        Created,
        CustomActivity,
        Email,
        EmailThread,
        FormSubmission,
        LeadMerge,
        LeadStatusChange,
        Meeting,
        Note,
        OpportunityStatusChange,
        SMS,
        TaskCompleted,
        WhatsAppMessage,
    )
}

#: Resource name in the route table (``closeasync.pipeline.routes.ROUTES``) -> model class.
ACTIVITY_BY_RESOURCE: dict[str, type[ActivityBase]] = {
    "call": Call,
    "created": Created,
    "custom": CustomActivity,
    "email": Email,
    "emailthread": EmailThread,
    "form_submission": FormSubmission,
    "lead_merge": LeadMerge,
    "lead_status_change": LeadStatusChange,
    "meeting": Meeting,
    "note": Note,
    "opportunity_status_change": OpportunityStatusChange,
    "sms": SMS,
    "task_completed": TaskCompleted,
    "whatsapp_message": WhatsAppMessage,
}


def activity_class(type_name: str) -> type[ActivityBase] | None:
    """Return the model class for a ``_type`` value, or None if it is not modelled."""
    return ACTIVITY_TYPES.get(type_name)


def register_activity_union(conv: Converter, *, strict: bool) -> None:
    """Teach ``conv`` to structure :data:`Activity` by its ``_type`` tag."""
    # Every model hook takes ``origin`` and ``adopt`` after cattrs' two (closeasync.models._views).
    hooks: dict[str, Callable[..., Model]] = {
        name: conv.get_structure_hook(cls) for name, cls in ACTIVITY_TYPES.items()
    }
    known = ACTIVITY_TYPES

    def structure_activity(data: Any, _: Any = None, origin: Any = None, adopt: bool = False) -> Model:
        tag = data.get("_type") if type(data) is dict else None
        hook = hooks.get(tag) if type(tag) is str else None
        if hook is not None:
            model: Model = hook(data, known[tag], origin, adopt)  # type: ignore[index]  # tag is a str here
            return model
        if strict:
            from ._converter import StructureError

            raise StructureError(f"activity with unknown _type {tag!r}")
        return _unknown(data)

    conv.register_structure_hook_func(lambda tp: tp == Activity, structure_activity)

    def structure_unknown(
        data: Any, _: Any = None, origin: Any = None, adopt: bool = False
    ) -> UnknownActivity:
        return _unknown(data)

    conv.register_structure_hook(UnknownActivity, structure_unknown)
    conv.register_unstructure_hook(UnknownActivity, _unknown_as_sent)


#: The identifiers an UnknownActivity lifts out of ``raw``, by the JSON key they come from.
_LIFTED = {"type": "_type", "id": "id", "lead_id": "lead_id"}


def _unknown_as_sent(obj: UnknownActivity) -> dict[str, Any]:
    """``raw`` as Close sent it, with the lifted identifiers as they are now (``evolve``)."""
    values = obj.__dict__
    out = dict(values.get("raw") or {})
    for attr, key in _LIFTED.items():
        if attr in values:
            out[key] = values[attr]
        else:
            out.pop(key, None)
    return out


def _unknown(data: Any) -> UnknownActivity:
    if type(data) is not dict:
        from ._converter import StructureError

        raise StructureError(f"activity: expected a JSON object, got {type(data).__name__}")
    fields = {k: data.get(k) for k in ("id", "lead_id") if isinstance(data.get(k), str)}
    return UnknownActivity(type=data.get("_type"), raw=data, **fields)
