"""The base of every model: frozen attrs classes whose absent fields stay absent.

Close answers with partial objects whenever ``_fields`` is used, and even its own
examples omit fields the schema calls required. A model therefore distinguishes
three states for each field: a value, ``None`` (Close sent ``null``) and *absent*
(Close did not send the key). An absent field is simply not in the instance's
``__dict__``: reading it raises :class:`FieldNotLoaded` (an ``AttributeError``, so
``hasattr`` and ``getattr(obj, name, default)`` work), and unstructuring leaves the
key out, so a model round-trips to exactly the JSON it came from.

This keeps the annotations honest: ``email.subject`` is typed ``str | None`` and,
when it returns, it returns exactly that. Nothing pretends an absent field is
``None``.

Models that come from Close are *views*: their ``__dict__`` is a copy of the JSON
object, and timestamps, enums and nested models are converted when first read (see
:mod:`closeasync._views`). A value Close sent malformed raises
:class:`~closeasync.errors.FieldValueError` when its field is read.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import attrs

from ..errors import FieldValueError

__all__ = ["UNSET", "FieldNotLoaded", "Model", "evolve", "is_loaded", "loaded_fields", "wire_name"]

M = TypeVar("M", bound="Model")


class _Unset:
    """The type of :data:`UNSET`; falsy, a singleton, and never sent on the wire."""

    __slots__ = ()
    _instance: ClassVar[_Unset | None] = None

    def __new__(cls) -> _Unset:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNSET"

    def __bool__(self) -> bool:
        return False

    def __reduce__(self) -> str:
        return "UNSET"


#: Marks "not given" where ``None`` is a meaningful value (a model field that was not
#: loaded, a keyword argument the caller left out of an update). Typed ``Any`` so it
#: can be the default of a field or parameter of any type.
UNSET: Any = _Unset()


class FieldNotLoaded(AttributeError):
    """Reading a model field that the response did not include.

    Raised for partial objects (``fields=[...]``) and for fields Close left out.
    """

    def __init__(self, model: str, field: str) -> None:
        super().__init__(
            f"{model}.{field} was not loaded: the response did not include it "
            f"(request it with fields=[..., {field!r}] or leave fields= out)"
        )
        self.model = model
        self.field = field


def wire_name(attribute: attrs.Attribute[Any]) -> str:
    """Return the JSON key of a model attribute (``from_`` is ``from`` on the wire)."""
    name: str = attribute.metadata.get("wire", attribute.name)
    return name


@attrs.frozen(kw_only=True, eq=False, repr=False, slots=False)
class Model:
    """Base of all closeasync models: frozen, keyword-only attrs classes.

    Every field defaults to :data:`UNSET`, which leaves the field absent, so models
    can be built partially in tests: ``Email(id="acti_1", subject="Hi")``.

    Models are not slotted: the instance ``__dict__`` is what lets a model be a view
    over Close's JSON (one dict copy instead of a write per field; see
    :mod:`closeasync._views`).
    """

    def __attrs_post_init__(self) -> None:
        # Fields the caller did not pass keep no value at all (see module docstring).
        values = self.__dict__
        for name in [name for name, value in values.items() if value is UNSET]:
            del values[name]

    if not TYPE_CHECKING:  # keep mypy from treating every attribute as valid

        def __getattr__(self, name: str) -> Any:
            # Only reached when normal lookup failed, i.e. for an absent field.
            if name in _field_names(type(self)):
                raise FieldNotLoaded(type(self).__name__, name)
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        missing = UNSET
        return all(
            getattr(self, a.name, missing) == getattr(other, a.name, missing)
            for a in attrs.fields(type(self))
        )

    __hash__ = None  # type: ignore[assignment]  # models hold lists: unhashable, like dicts

    def __reduce__(self) -> tuple[Any, ...]:
        # attrs' slot-state helpers read every field; absent ones must stay absent instead.
        # pickle, copy and deepcopy all come through here.
        return (_rebuild, (type(self), _loaded_state(self)))

    def __repr__(self) -> str:
        values = self.__dict__
        shown = ", ".join(
            f"{a.name}={_shown(self, a.name)}"
            for a in attrs.fields(type(self))
            if a.repr and a.name in values
        )
        return f"{type(self).__name__}({shown})"


def _field_names(cls: type[Model]) -> frozenset[str]:
    """The field names of a model class (``getattr(m, name, None)`` on absent fields is common)."""
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = _FIELD_NAMES[cls] = frozenset(attrs.fields_dict(cls))
    return names


_FIELD_NAMES: dict[type[Model], frozenset[str]] = {}


def _shown(model: Model, name: str) -> str:
    """The repr of one field; a malformed value shows as it came (repr must not raise)."""
    try:
        return repr(getattr(model, name))
    except (FieldValueError, AttributeError):
        return f"<malformed {model.__dict__[name]!r}>"


#: Sets a model's instance ``__dict__`` past the frozen ``__setattr__`` (every model class
#: shares Model's descriptor): how the converter builds models without ``__init__``.
set_values: Callable[[Any, dict[str, Any]], None] = Model.__dict__["__dict__"].__set__


def _loaded_state(model: Model) -> dict[str, Any]:
    values = model.__dict__
    return {a.name: getattr(model, a.name) for a in attrs.fields(type(model)) if a.name in values}


def _rebuild(cls: type[Model], state: dict[str, Any]) -> Model:
    obj = object.__new__(cls)
    set_values(obj, dict(state))
    return obj


def evolve(model: M, **changes: Any) -> M:
    """Return a copy of ``model`` with ``changes``; absent fields stay absent.

    (``attrs.evolve`` would read every field, and absent ones cannot be read.)

    >>> from closeasync.models import Email
    >>> evolve(Email(id="acti_1"), subject="Hi")
    Email(id='acti_1', subject='Hi')

    Raises:
        TypeError: a name that is not a field of the model.
    """
    names = attrs.fields_dict(type(model))
    unknown = sorted(set(changes) - set(names))
    if unknown:
        raise TypeError(f"{type(model).__name__} has no field {', '.join(unknown)}")
    state = _loaded_state(model)
    state.update({k: v for k, v in changes.items() if v is not UNSET})
    for name, value in changes.items():
        if value is UNSET:
            state.pop(name, None)
    return _rebuild(type(model), state)  # type: ignore[return-value]


def loaded_fields(model: Model) -> frozenset[str]:
    """Return the names of the fields that hold a value (``None`` included).

    >>> from closeasync.models import Email
    >>> sorted(loaded_fields(Email(id="acti_1", subject=None)))
    ['id', 'subject']
    """
    values = model.__dict__
    return frozenset(a.name for a in attrs.fields(type(model)) if a.name in values)


def is_loaded(model: Model, field: str) -> bool:
    """Tell whether ``field`` holds a value on ``model`` (``None`` counts as loaded).

    It only looks: a field still to be converted is not converted (and so cannot
    raise :class:`~closeasync.errors.FieldValueError`).
    """
    return field in model.__dict__ and field in _field_names(type(model))
