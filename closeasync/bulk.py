"""Many requests at once, with a bound on how many are in flight, and results per item.

``close.emails.get_many(ids)`` and ``close.emails.create_many(items)`` (and the same on
``close.sms``) return a :class:`BulkResult`: what succeeded and what failed, item by
item, in input order. One failure never stops the others. Work is done by at most
``concurrency`` tasks of one anyio task group, each taking the next item when it is
done with one, so neither tasks nor requests pile up however long the input.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, Sequence
from typing import Any, Generic, TypeVar

import anyio

from .errors import InvalidRequestError

__all__ = ["BulkResult"]  # run_bounded and check_concurrency serve the resources

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


async def run_bounded(
    items: Sequence[X], work: Callable[[X], Awaitable[R]], concurrency: int
) -> list[R | Exception]:
    """Run ``work`` on every item, at most ``concurrency`` at a time; outcomes in input order.

    An ``Exception`` from one item is its outcome; cancellation (and any
    ``BaseException``) cancels the rest and propagates.
    """
    outcomes: list[Any] = [None] * len(items)  # each slot is set before the task group ends
    indexes = iter(range(len(items)))

    async def worker() -> None:
        for index in indexes:  # shared: each worker takes the next item not yet taken
            try:
                outcomes[index] = await work(items[index])
            except Exception as exc:
                outcomes[index] = exc

    async with anyio.create_task_group() as tg:
        for _ in range(min(check_concurrency(concurrency), len(items))):
            tg.start_soon(worker)
    return outcomes
