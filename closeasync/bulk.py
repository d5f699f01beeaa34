"""Many requests at once, with a bound on how many are in flight, and results per item.

``close.emails.get_many(ids)`` and ``close.emails.create_many(items)`` (and the same on
``close.sms``) return a :class:`BulkResult`: what succeeded and what failed, item by
item, in input order. One failure never stops the others. Work is done by at most
``concurrency`` tasks of one anyio task group, each taking the next item when it is
done with one, so neither tasks nor requests pile up however long the input.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable, Iterator, Sequence
from typing import Any, Generic, TypeVar

import anyio

from .errors import InvalidRequestError, WriteOutcomeUnknownError

__all__ = ["BulkResult"]  # run_bounded and the checks serve the resources

K = TypeVar("K")
T = TypeVar("T")
X = TypeVar("X")
R = TypeVar("R")


class BulkResult(Generic[K, T]):
    """Per-item outcomes of a bulk call, in input order.

    Keys are the ids (``get_many``) or the input positions (``create_many``).

    Attributes:
        ok: key -> result, for the items that succeeded (in input order).
        errors: key -> exception, for the items that failed (in input order).

    >>> result = BulkResult(["a", "b"], [1, KeyError("b")])
    >>> result.ok, list(result.errors)
    ({'a': 1}, ['b'])
    >>> [key for key, outcome in result]
    ['a', 'b']
    """

    __slots__ = ("_outcomes", "errors", "ok")

    def __init__(self, keys: Sequence[K], outcomes: Sequence[T | Exception]) -> None:
        if len(keys) != len(outcomes):
            raise ValueError("one outcome per key")
        self._outcomes: list[tuple[K, T | Exception]] = list(zip(keys, outcomes, strict=True))
        self.ok: dict[K, T] = {}
        self.errors: dict[K, Exception] = {}
        for key, outcome in self._outcomes:
            if isinstance(outcome, Exception):
                self.errors[key] = outcome
            else:
                self.ok[key] = outcome

    def __iter__(self) -> Iterator[tuple[K, T | Exception]]:
        """Each key with its result or its exception, in input order."""
        return iter(self._outcomes)

    def __len__(self) -> int:
        return len(self._outcomes)

    @property
    def unknown(self) -> dict[K, Exception]:
        """The failures whose write may have happened anyway (check before repeating them).

        Those whose error is a :class:`~closeasync.errors.WriteOutcomeUnknownError`: the
        request may have reached Close before it failed, was cut short by ``stop_after``, and so on.
        """
        return {k: e for k, e in self.errors.items() if isinstance(e, WriteOutcomeUnknownError)}

    @property
    def all_ok(self) -> bool:
        """Whether every item succeeded."""
        return not self.errors

    def raise_errors(self) -> None:
        """Raise the failures, if any, as one ``ExceptionGroup`` (``except*`` picks them apart)."""
        if self.errors:
            raise ExceptionGroup(
                f"{len(self.errors)} of {len(self)} items failed", list(self.errors.values())
            )

    def __repr__(self) -> str:
        return f"<BulkResult ok={len(self.ok)} errors={len(self.errors)}>"


def check_concurrency(concurrency: int) -> int:
    """Refuse a concurrency that is not a positive int.

    Raises:
        InvalidRequestError: it is not.
    """
    if not isinstance(concurrency, int) or isinstance(concurrency, bool) or concurrency < 1:
        raise InvalidRequestError({"concurrency": f"must be a positive int, got {concurrency!r}"})
    return concurrency


def check_stop_after(stop_after: float | None) -> float | None:
    """Refuse a ``stop_after`` that is not None or a number of seconds >= 0.

    Raises:
        InvalidRequestError: it is not.
    """
    if stop_after is not None and (
        isinstance(stop_after, bool)
        or not isinstance(stop_after, int | float)
        or not stop_after >= 0  # NaN too
    ):
        raise InvalidRequestError({"stop_after": f"must be a number of seconds >= 0, got {stop_after!r}"})
    return stop_after


#: An item's outcome slot while its work has not ended.
_WAITING = object()  # not started
_RUNNING = object()  # started: a write may have reached Close


async def run_bounded(
    items: Sequence[X],
    work: Callable[[X], Awaitable[R]],
    concurrency: int,
    *,
    stop_after: float | None = None,
    cut: Callable[[X, bool], Exception] | None = None,
) -> list[R | Exception]:
    """Run ``work`` on every item, at most ``concurrency`` at a time; outcomes in input order.

    An ``Exception`` from one item is its outcome. ``stop_after`` bounds the whole run in
    seconds: when it passes, the items not done are stopped and get ``cut(item,
    started)`` as their outcome (``started``: its work had begun, so a write may have
    reached Close). A cancellation from outside cancels the rest and propagates; before
    it does (when there is a ``cut``), the unfinished items are named in a note on the
    exception: the traceback says which were being sent, so may have reached Close.
    """
    check_stop_after(stop_after)
    workers = min(check_concurrency(concurrency), len(items))
    outcomes: list[Any] = [_WAITING] * len(items)
    indexes = iter(range(len(items)))

    async def worker() -> None:
        for index in indexes:  # shared: each worker takes the next item not yet taken
            outcomes[index] = _RUNNING
            try:
                outcomes[index] = await work(items[index])
            except Exception as exc:
                outcomes[index] = exc

    def unfinished() -> list[tuple[int, bool]]:
        return [(i, o is _RUNNING) for i, o in enumerate(outcomes) if o is _WAITING or o is _RUNNING]

    try:
        with anyio.move_on_after(math.inf if stop_after is None else stop_after):
            async with anyio.create_task_group() as tg:
                for _ in range(workers):
                    tg.start_soon(worker)
    except anyio.get_cancelled_exc_class() as cancelled:
        stopped = unfinished()
        if cut is not None and stopped:
            sending = [items[i] for i, began in stopped if began]
            cancelled.add_note(
                f"cancelled with {len(stopped)} of {len(items)} items unfinished: "
                f"{len(stopped) - len(sending)} not sent, {len(sending)} being sent "
                f"(outcome unknown: check before repeating them): {sending}"
            )
        raise
    for index, started in unfinished():  # stop_after passed
        assert cut is not None, "a run with stop_after needs cut"
        outcomes[index] = cut(items[index], started)
    return outcomes
