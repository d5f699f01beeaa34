"""One endpoint group's budget, as far as this client knows it, worked out on a given "now".

Close limits requests per endpoint group (method + route) and per key, and says how
close each response is to the limit (``RateLimit: limit, remaining, reset``). A
:class:`GroupPacer` keeps what the latest response said, minus the requests started
since, so concurrent tasks do not overrun the window:

- while the budget lasts, a request takes one unit and goes;
- when it is spent (or a 429 said to stop), every task of the group waits for the
  same moment, the window's end, instead of each one hitting 429 on its own;
- a new window refills the budget to the ``limit`` Close announced;
- when a refilled budget is spent before any response has said when its window
  ends, tasks look again every second (the answers in flight will say), and if a
  whole window's length passes with no news (answers without the header: a
  proxy's 502, a reset connection) the window is taken to have ended, so a group
  never stalls;
- a budget learnt from a header lapses once a whole budget's worth of answers in a row
  came without one (:meth:`GroupPacer.silent`): the group is then unpaced, as one
  Close never told anything about.

Before anything is known, a group's :class:`~closeasync.pipeline.slowstart.Gate` lets
its first request go alone (see that module); the pacer opens it on the first news.
"""

from __future__ import annotations

import math

from .ratelimit import RateLimit
from .slowstart import Gate

__all__ = ["GroupPacer"]

_INF = math.inf  # read on every response: a global, not an attribute of math


class GroupPacer:
    """The budget of one endpoint group, as far as this client knows it.

    ``gate`` is the group's slow start while no answer has told anything (None once
    open, or when the client does not pace).
    """

    __slots__ = (
        "blocked_until",
        "gate",
        "group",
        "guessed_end",
        "inflight",
        "limit",
        "period",
        "quiet",
        "remaining",
        "window_end",
    )

    def __init__(self, group: str, gate: Gate | None = None) -> None:
        self.group = group
        self.gate = gate
        self.limit: float | None = None
        self.remaining: float | None = None  # None: unknown, so unpaced
        self.window_end = -math.inf
        self.blocked_until = -math.inf
        self.period: float | None = None  # the longest reset seen: how long a window may last
        self.guessed_end = False  # window_end is a guess no response confirmed
        self.inflight = 0  # requests sent and not yet answered
        self.quiet = 0  # answers in a row without the header (5xx aside) since the last with it

    def open_gate(self) -> None:
        """The first news of this group (any answer, a 429, a budget told): slow start ends.

        The gate is forgotten once the requests it held have gone on (newcomers meanwhile
        wait their turn behind them); from then on a request pays nothing for it.
        """
        gate = self.gate
        if gate is not None and not gate.is_open:
            gate.open(self._forget_gate)

    def _forget_gate(self) -> None:
        self.gate = None

    def reserve(self, now: float, pace: bool = True) -> float:
        """Take one unit of budget, or return how long to wait before trying again.

        With ``pace=False`` only an explicit stop (a 429) makes anyone wait.
        """
        if now < self.blocked_until:
            return self.blocked_until - now
        if not pace:
            return 0.0
        if now >= self.window_end:
            # A new window: Close's announced budget again (unpaced if it never said),
            # until a response tells us where this window ends.
            self.remaining = self.limit
            self.window_end = math.inf
            self.guessed_end = False
        if self.remaining is None:
            return 0.0
        if self.remaining >= 1:
            self.remaining -= 1
            return 0.0
        step = min(1.0, self.period or 1.0)
        if self.window_end == math.inf:
            # Spent, and no answer has said when this window ends: assume it lasts as long
            # as the longest we have seen, but look again soon for the real end.
            self.window_end = now + (self.period or 1.0)
            self.guessed_end = True
        if self.guessed_end:
            return min(step, self.window_end - now)
        self.blocked_until = max(self.blocked_until, self.window_end)
        return self.blocked_until - now

    def observe(self, info: RateLimit, now: float) -> None:
        """Take in what a response said about the group's limit."""
        self.update(info.limit, info.remaining, info.reset, now)

    def update(self, limit: float | None, remaining: float | None, reset: float | None, now: float) -> None:
        """:meth:`observe` with the numbers themselves (no :class:`RateLimit` made per response).

        Every response with a rate-limit header comes through here: comparisons stand in
        for ``min``/``max`` calls.
        """
        self.quiet = 0
        if self.gate is not None:
            self.open_gate()
        if limit is not None:
            self.limit = limit
        if reset is None or remaining is None:
            return
        end = now + reset
        period = self.period
        if period is None or reset > period:
            self.period = reset  # the longest seen
        # Close counted this request, not the ones still on their way to it.
        left = remaining - self.inflight
        if left < 0.0:
            left = 0.0
        local = self.remaining
        if self.window_end == _INF or self.guessed_end:
            # First news of this window: requests started since took units locally already.
            if local is None or left < local:
                self.remaining = left
            self.window_end = end
            self.guessed_end = False
        elif end > self.window_end + 0.5:
            # Close moved to a window we had not noticed: its count is the truth.
            self.remaining, self.window_end = left, end
        elif local is None or left < local:
            self.remaining = left

    def silent(self) -> None:
        """Close answered (not a 5xx or 429) without a rate-limit header: an unannounced budget lapses.

        The budget lapses once ``limit`` answers in a row came without the header: a
        window holds at most that many, so at least a window's worth of Close's answers
        went by without a word, and the server has stopped announcing (a storm of 429s
        is over, a proxy in front limits no more); pacing on by the old numbers would
        only slow the group down. Why a count and not a time: paced requests go in
        waves a window apart, so "a window since the last announcement" is reached at
        every wave, and one answer lacking the header there would end a budget Close
        still enforces; and while the traffic is below the budget, pacing by it costs
        nothing, so a lapse that takes longer there costs nothing either, whereas above
        it the answers come fast and the lapse comes within a window. A 5xx without the
        header (a proxy's or an outage's answer: the caller leaves those out) says
        nothing about Close's budget, and a 429 says Close is limiting. A 429's explicit
        wait (``blocked_until``) still holds. With no answer at all nothing is known, and
        the guessed windows of :meth:`reserve` go on.
        """
        self.quiet += 1
        limit = self.limit
        if limit is not None and self.quiet >= limit:
            self.limit = self.remaining = self.period = None
            self.window_end = -math.inf
            self.guessed_end = False
            self.quiet = 0

    def rejected(self, wait: float, now: float) -> None:
        """A 429: nobody in this group sends before ``wait`` seconds have passed."""
        self.quiet = 0  # news, even from a 429 that only says Retry-After
        if self.gate is not None:
            self.open_gate()
        self.remaining = 0
        self.window_end = now + wait
        self.guessed_end = False
        self.blocked_until = max(self.blocked_until, now + wait)
