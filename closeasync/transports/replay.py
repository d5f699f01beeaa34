"""Record and replay at our own transport seam: cassettes instead of the network.

::

    # record once through any transport (the real API, or the served fake) ...
    recorder = RecordingTransport(AiohttpTransport(), "cassettes/sync.json")
    async with CloseAsync(api_key="api_...", transport=recorder) as close:
        ...
    # ... then replay with no network at all
    async with CloseAsync(api_key="api_...", transport=ReplayTransport("cassettes/sync.json")) as close:
        ...

Closing the transport writes the recording and checks for unused interactions;
the client closes the transport it was given, so leaving its ``async with`` block
does both (closing twice is harmless, and ``async with transport:`` works too).

Modes follow pytest-recording: ``none`` (replay only, the default), ``once``
(record if the file does not exist, else replay), ``new_episodes`` (replay what
matches, record what does not) and ``all`` (record everything afresh).

Identical requests replay in the order they were made when recorded, and
interactions are recorded in the order requests *started*, so concurrent requests
(``asyncio.gather``, task groups) replay deterministically. Replay never waits:
``instant_waits`` tells the client's retry logic that recorded 429s need no sleep.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Self

import anyio.lowlevel

from .. import errors
from ..pipeline.wire import Request, Response
from .base import Transport
from .cassette import (
    Cassette,
    Interaction,
    MatchOptions,
    RecordedRequest,
    RecordedResponse,
    ScrubOptions,
    base_url_of,
    credentials_in,
    nearest,
    secrets_in,
)

if TYPE_CHECKING:
    from types import TracebackType

__all__ = ["CassetteTransport", "RecordMode", "RecordingTransport", "ReplayTransport"]

RecordMode = Literal["none", "once", "new_episodes", "all"]
RECORD_MODES: tuple[RecordMode, ...] = ("none", "once", "new_episodes", "all")


class CassetteTransport:
    """Answer from a cassette file, recording through ``inner`` as ``mode`` allows.

    Args:
        path: the cassette file.
        inner: the transport to record through (not needed for ``none``).
        mode: ``none``, ``once``, ``new_episodes`` or ``all``.
        match: query parameters and body paths to ignore when matching.
        scrub: headers, query parameters and body paths to hide in the file.
        allow_unused: when False, closing with unplayed interactions raises.
        base_url: stored in the file, for the reader's information (by default the
            API root of the first request recorded).
        secrets: extra strings that must never be written (the credentials seen
            in requests are always checked).

    Raises:
        ConfigurationError: a mode that needs ``inner`` without one, or ``none``
            without a cassette file.
    """

    #: Tells the client's retry logic that waits on this transport need not sleep.
    instant_waits = True

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        inner: Transport | None = None,
        mode: RecordMode = "none",
        match: MatchOptions | None = None,
        scrub: ScrubOptions | None = None,
        allow_unused: bool = True,
        base_url: str = "",
        secrets: Iterable[str] = (),
    ) -> None:
        if mode not in RECORD_MODES:
            raise errors.ConfigurationError(
                f"record mode must be one of {', '.join(RECORD_MODES)}, got {mode!r}"
            )
        self.path = Path(path)
        self.mode = mode
        self._inner = inner
        self._match = match or MatchOptions()
        self._scrub = scrub or ScrubOptions()
        self._allow_unused = allow_unused
        self._secrets = {s for s in secrets if s}
        exists = self.path.exists()
        self._recorded = Cassette.load(self.path) if exists and mode != "all" else Cassette(base_url=base_url)
        self._record = mode in ("all", "new_episodes") or (mode == "once" and not exists)
        if mode == "none" and not exists:
            raise errors.ConfigurationError(
                f"no cassette at {self.path}; record it first (record mode 'once' or 'all')"
            )
        if self._record and inner is None:
            raise errors.ConfigurationError(
                f"record mode {mode!r} needs an inner transport to record through"
            )
        self._queues: dict[object, deque[int]] = {}
        for index, interaction in enumerate(self._recorded.interactions):
            self._queues.setdefault(interaction.request.key(self._match), deque()).append(index)
        self._used: set[int] = set()
        self._new: list[Interaction | None] = []
        self.instant_waits = not self._record
        self._saved = False

    def __repr__(self) -> str:
        return f"<CassetteTransport {self.path} mode={self.mode}>"

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            await self.aclose()
        except errors.UnusedInteractionsError:
            if exc is None:
                raise
            # The block failed part way, so of course some went unplayed: its error says more.

    @property
    def recording(self) -> bool:
        """Whether requests that do not match are sent on and recorded."""
        return self._record

    async def send(self, request: Request) -> Response:
        """Replay a matching recorded response, or record a new one when allowed.

        Raises:
            UnmatchedRequestError: no recorded interaction is left for this request
                and the mode does not record.
        """
        # As over a socket, a request is a point where other tasks run and a
        # cancellation lands (the client's pipeline adds no pause of its own).
        await anyio.lowlevel.checkpoint()
        live = RecordedRequest.from_request(request, self._scrub)
        queue = self._queues.get(live.key(self._match))
        if queue and self.mode != "all":
            index = queue.popleft()
            self._used.add(index)
            return self._recorded.interactions[index].response.to_response(request)
        if not self._record or self._inner is None:
            candidates = nearest(self._recorded.interactions, live)
            shown = "\n  ".join(candidates) or "(the cassette is empty)"
            raise errors.UnmatchedRequestError(
                f"no recorded interaction left for {live.describe()}\nnearest recorded requests:\n  {shown}\n"
                f"(cassette {self.path}, mode {self.mode})"
            )
        self._secrets |= credentials_in(request)
        if not self._recorded.base_url:
            self._recorded.base_url = base_url_of(request)
        slot = len(self._new)
        self._new.append(None)  # keeps the order requests started in, not the order they finished
        response = await self._inner.send(request)
        self._new[slot] = Interaction(live, RecordedResponse.from_response(response, self._scrub))
        return response

    def unused(self) -> list[Interaction]:
        """Recorded interactions no request has played yet."""
        return [i for n, i in enumerate(self._recorded.interactions) if n not in self._used]

    def save(self) -> Path | None:
        """Write what was recorded (safe to call more than once); return the path if written.

        Raises:
            CassetteSecretError: the file would contain a credential.
        """
        new = [i for i in self._new if i is not None]
        if not self._record or (not new and self.mode != "all") or self._saved:
            return None
        kept = self._recorded.interactions if self.mode == "new_episodes" else []
        cassette = Cassette(base_url=self._recorded.base_url, interactions=[*kept, *new])
        content = cassette.dumps()
        if secrets_in(cassette, content, self._secrets):
            raise errors.CassetteSecretError(
                f"refusing to write {self.path}: it would contain a credential (scrub it; see ScrubOptions)"
            )
        self.path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_suffix(self.path.suffix + ".partial")
        partial.write_bytes(content)
        partial.replace(self.path)
        self._saved = True
        return self.path

    def check_unused(self) -> None:
        """Raise if the cassette demands every interaction be played and some were not.

        Raises:
            UnusedInteractionsError: listing what was never requested.
        """
        unused = self.unused()
        if unused and not self._allow_unused and not self._record:
            listed = "\n  ".join(i.request.describe() for i in unused)
            raise errors.UnusedInteractionsError(
                f"{len(unused)} recorded interactions were never requested:\n  {listed}"
            )

    async def aclose(self) -> None:
        """Save recordings, close the inner transport, then check for unused interactions."""
        try:
            self.save()
        finally:
            if self._inner is not None:
                await self._inner.aclose()
        self.check_unused()


class RecordingTransport(CassetteTransport):
    """Record every interaction through ``inner`` into ``path`` (mode ``all`` unless given)."""

    def __init__(
        self,
        inner: Transport,
        path: str | os.PathLike[str],
        *,
        mode: RecordMode = "all",
        match: MatchOptions | None = None,
        scrub: ScrubOptions | None = None,
        base_url: str = "",
        secrets: Iterable[str] = (),
    ) -> None:
        super().__init__(
            path, inner=inner, mode=mode, match=match, scrub=scrub, base_url=base_url, secrets=secrets
        )


class ReplayTransport(CassetteTransport):
    """Answer only from the cassette at ``path``: no network, nothing recorded."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        match: MatchOptions | None = None,
        scrub: ScrubOptions | None = None,
        allow_unused: bool = True,
    ) -> None:
        super().__init__(path, mode="none", match=match, scrub=scrub, allow_unused=allow_unused)
