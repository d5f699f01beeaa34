"""The base of every model: frozen attrs classes that give back exactly what Close sent.

A model from Close is a *view* over the JSON object it came in (see
:mod:`closeasync.models._views`): its instance ``__dict__`` holds the fields this version
models, converted (timestamps, enums, nested models) when first read, and keeps the
object itself, untouched, under :data:`SOURCE`. So:

- ``to_dict(model)`` gives back the object as Close sent it, unknown keys and
  timestamp strings included, for every field nobody changed (:func:`evolve` records
  what changed, under :data:`CHANGED`); :func:`~closeasync.models.extra_fields` reads
  the keys this version does not model.
- A field Close did not send is *absent*: not in ``__dict__``. On an object fetched
  with ``fields=[...]``, reading a field that was not asked for raises
  :class:`FieldNotLoaded` (an ``AttributeError``, so ``hasattr`` and
  ``getattr(obj, name, default)`` work): a partial object stays honest. Otherwise
  Close simply left the field out, and it reads as its empty value: ``None`` (also for
  a field Close's schema calls required), ``[]`` for a list, ``{}`` for a mapping. So
  ``attrs.asdict``, ``attrs.evolve``, ``copy``, ``pickle`` and cattrs work on every
  model, and ``to_dict`` still leaves the key out.

- A value Close sent malformed raises :class:`~closeasync.errors.FieldValueError` when
  its field is read: the view's lazy field (:mod:`closeasync.models._views`) reports
  it through :func:`field_error`, here, which asks the model's :class:`Origin` (kept
  under :data:`ORIGIN`) for the error naming the response it came in.

No model holds a credential: an origin is its response's status, method and URL and
the ``_fields`` asked for, and every error made here is cleaned of the open clients'
credentials.
"""

from __future__ import annotations

import typing
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, Self, TypeVar

import attrs
import orjson

from ..errors import FieldValueError, restore_exception
from ..pipeline.auth import live_secrets, redact_exception

__all__ = [
    "CHANGED",
    "ORIGIN",
    "SOURCE",
    "UNSET",
    "FieldNotLoaded",
    "Model",
    "Origin",
    "evolve",
    "field_error",
    "is_loaded",
    "loaded_fields",
    "modelled_keys",
    "set_values",
    "wire_name",
]

#: Hidden keys of a model's instance ``__dict__`` (never attributes anyone declares):
#: the JSON object as Close sent it (views only; never changed) ...
SOURCE = "__closeasync_json__"
#: ... where it came from (an :class:`Origin`: its response's status, method, URL, ``_fields``) ...
ORIGIN = "__closeasync_origin__"
#: ... and the fields :func:`evolve` changed since (``to_dict`` writes those over SOURCE).
CHANGED = "__closeasync_changed__"
HIDDEN = frozenset({SOURCE, ORIGIN, CHANGED})

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
    """Reading a field of a partial object (fetched with ``fields=[...]``) that was not asked for.

    ``requested`` is the ``_fields`` the request sent.
    """

    def __init__(self, model: str, field: str, requested: tuple[str, ...] = ()) -> None:
        asked = f"fields={list(requested)}" if requested else "fields=[...]"
        super().__init__(
            f"{model}.{field} was not loaded: this object was fetched with {asked}, "
            f"which leaves {field!r} out (add it to fields=, or leave fields= out for every field)"
        )
        self.model = model
        self.field = field
        self.requested = requested

    def __reduce__(self) -> tuple[Any, ...]:
        return (restore_exception, (type(self), self.args, dict(self.__dict__)))


class Origin(Protocol):
    """Where a model's JSON came from, kept under :data:`ORIGIN` (the ``ResponseOrigin`` of the
    response it came in): it makes the errors reading one of its fields raises."""

    @property
    def requested_fields(self) -> tuple[str, ...] | None:
        """The ``_fields`` the request asked for (None: every field): what :class:`FieldNotLoaded` names."""
        ...

    def field_error(self, model: str, field: str, message: str, body: bytes) -> Exception:
        """The error for ``model.field`` whose value did not convert."""
        ...

    def nested(self) -> Origin:
        """The origin of the objects nested in this one's (never partial)."""
        ...


def wire_name(attribute: attrs.Attribute[Any]) -> str:
    """Return the JSON key of a model attribute (``from_`` is ``from`` on the wire)."""
    name: str = attribute.metadata.get("wire", attribute.name)
    return name


_MODELLED: dict[type[Any], tuple[frozenset[str], tuple[str, ...]]] = {}


def modelled_keys(cls: type[Any]) -> tuple[frozenset[str], tuple[str, ...]]:
    """The JSON keys a model class reads (``_type`` too), and the prefixes of the flat keys it
    gathers into a field (``custom.`` for ``custom``): everything else Close sends is extra."""
    known = _MODELLED.get(cls)
    if known is None:
        prefixes: tuple[tuple[str, str], ...] = getattr(cls, "__wire_prefixes__", ())
        gathered = {field for _, field in prefixes}
        keys = {"_type", *(wire_name(a) for a in attrs.fields(cls) if a.name not in gathered)}
        known = _MODELLED[cls] = (frozenset(keys), tuple(prefix for prefix, _ in prefixes))
    return known


@attrs.frozen(kw_only=True, eq=False, repr=False, slots=False)
class Model:
    """Base of all closeasync models: frozen, keyword-only attrs classes.

    Every field defaults to :data:`UNSET`, which leaves the field absent, so models
    can be built partially in tests: ``Email(id="acti_1", subject="Hi")``.

    Models are not slotted: the instance ``__dict__`` is what lets a model be a view
    over Close's JSON (one dict copy instead of a write per field; see
    :mod:`closeasync.models._views`).
    """

    def __attrs_post_init__(self) -> None:
        # Fields the caller did not pass keep no value at all (see module docstring).
        values = self.__dict__
        for name in [name for name, value in values.items() if value is UNSET]:
            del values[name]

    if not TYPE_CHECKING:  # keep mypy from treating every attribute as valid

        def __getattr__(self, name: str) -> Any:
            # Only reached when normal lookup failed, i.e. for an absent field.
            empty = _empties(type(self)).get(name, _NOT_A_FIELD)
            if empty is _NOT_A_FIELD:
                raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
            requested = _requested(self)
            if requested is not None and wire_name(attrs.fields_dict(type(self))[name]) not in requested:
                raise FieldNotLoaded(type(self).__name__, name, requested)
            return empty()  # Close left it out: its empty value (a new list or dict each time)

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return all(_compared(self, a.name) == _compared(other, a.name) for a in attrs.fields(type(self)))

    __hash__ = None  # type: ignore[assignment]  # models hold lists: unhashable, like dicts

    def __reduce__(self) -> tuple[Any, ...]:
        # attrs' slot-state helpers read every field; absent ones must stay absent instead,
        # and what Close sent must come along. pickle, copy and deepcopy come through here,
        # reading no field: a malformed value is copied as it came (reading it still raises).
        return (_rebuild, (type(self), dict(self.__dict__)))

    def __replace__(self, **changes: Any) -> Self:
        """``copy.replace(model, **changes)`` (Python 3.13): :func:`evolve`, which reads no field."""
        return evolve(self, **changes)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # On Python 3.13 attrs gives every class it decorates a ``__replace__`` that is
        # ``attrs.evolve``, which reads every field (a malformed one would raise), unless
        # the class has its own: this runs before the decorator, so each has Model's.
        if "__replace__" not in cls.__dict__:
            cls.__replace__ = Model.__replace__  # type: ignore[method-assign]

    def __repr__(self) -> str:
        values = self.__dict__
        shown = ", ".join(
            f"{a.name}={_shown(self, a.name)}"
            for a in attrs.fields(type(self))
            if a.repr and a.name in values
        )
        return f"{type(self).__name__}({shown})"


_NOT_A_FIELD = object()
_EMPTIES: dict[type[Model], dict[str, Callable[[], Any]]] = {}


def _empties(cls: type[Model]) -> dict[str, Callable[[], Any]]:
    """Field name -> its empty value's factory: ``[]`` for lists, ``{}`` for mappings, else None."""
    empties = _EMPTIES.get(cls)
    if empties is None:
        attrs.resolve_types(cls)
        empties = _EMPTIES[cls] = {a.name: _empty_factory(a.type) for a in attrs.fields(cls)}
    return empties


def _none() -> None:
    return None


def _empty_factory(tp: Any) -> Callable[[], Any]:
    origin = typing.get_origin(tp)
    if origin is list or tp is list:
        return list
    if origin is dict or tp is dict:
        return dict
    return _none


def _requested(model: Model) -> tuple[str, ...] | None:
    """The ``_fields`` the model's request asked for (None: every field, or made by hand)."""
    origin: Origin | None = model.__dict__.get(ORIGIN)
    return None if origin is None else origin.requested_fields


def _compared(model: Model, name: str) -> Any:
    """A field's value for ``==``: a malformed one as Close sent it (comparing must not raise)."""
    try:
        return getattr(model, name, UNSET)  # UNSET: not loaded by a partial object
    except FieldValueError:
        return model.__dict__[name]


def _shown(model: Model, name: str) -> str:
    """The repr of one field; a malformed value shows as it came (repr must not raise)."""
    try:
        return repr(getattr(model, name))
    except (FieldValueError, AttributeError):
        return f"<malformed {model.__dict__[name]!r}>"


#: Sets a model's instance ``__dict__`` past the frozen ``__setattr__`` (every model class
#: shares Model's descriptor): how the converter builds models without ``__init__``.
set_values: Callable[[Any, dict[str, Any]], None] = Model.__dict__["__dict__"].__set__


def _rebuild(cls: type[Model], state: dict[str, Any]) -> Model:
    obj = object.__new__(cls)
    set_values(obj, dict(state))
    return obj


def evolve(model: M, **changes: Any) -> M:
    """Return a copy of ``model`` with ``changes``; absent fields stay absent.

    The copy remembers what Close sent and what changed: ``to_dict`` gives Close's
    object with just those fields replaced (``UNSET`` removes one). ``attrs.evolve``
    works too, but builds a model by hand from every field's value.

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
    state = dict(model.__dict__)
    for name, value in changes.items():
        if value is UNSET:
            state.pop(name, None)
        else:
            state[name] = value
    if SOURCE in state:
        state[CHANGED] = state.get(CHANGED, frozenset()) | frozenset(changes)
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
    return field in model.__dict__ and field in _empties(type(model))


def field_error(model: Model, field: str, exc: Exception) -> Exception:
    """The :class:`~closeasync.errors.FieldValueError` for ``model.field``, whose value raised
    ``exc`` when converted: made by the model's :class:`Origin` when it has one, with the
    object as Close sent it as ``body``."""
    name = type(model).__name__
    message = f"{name}.{field}: {exc}"
    source = model.__dict__.get(SOURCE)
    try:
        body = orjson.dumps(source if source is not None else _as_sent(model), default=_jsonable)
    except Exception:  # the error being reported matters more than its body
        body = b""
    origin: Origin | None = model.__dict__.get(ORIGIN)
    if origin is not None:
        error = origin.field_error(name, field, message, body)
    else:
        error = FieldValueError(message, model=name, field=field, body=body)
    # No model keeps a credential, so the error is cleaned against the open clients' ones.
    secrets = live_secrets()
    if secrets:
        redact_exception(error, secrets)
    return error


def _as_sent(model: Model) -> dict[str, Any]:
    """A model's fields as a JSON object (for a body when it keeps no :data:`SOURCE`), what
    is converted already as converted.

    Wire names are restored (``from_`` is ``from`` again); nested models come out the
    same way when written with ``orjson.dumps(..., default=_jsonable)``.
    """
    wire = _wire_names(type(model))
    tag: str | None = getattr(type(model), "TYPE", None)
    sent: dict[str, Any] = {} if tag is None else {"_type": tag}  # a view keeps no _type key
    sent.update((wire.get(k, k), v) for k, v in model.__dict__.items() if k not in HIDDEN)
    return sent


def _jsonable(value: Any) -> Any:
    if isinstance(value, Model):
        return _as_sent(value)
    raise TypeError(type(value).__name__)


_WIRE_NAMES: dict[type[Model], dict[str, str]] = {}


def _wire_names(cls: type[Model]) -> dict[str, str]:
    """Attribute name -> JSON key, for the attributes whose JSON key differs."""
    names = _WIRE_NAMES.get(cls)
    if names is None:
        names = {a.name: wire_name(a) for a in attrs.fields(cls) if wire_name(a) != a.name}
        _WIRE_NAMES[cls] = names
    return names
