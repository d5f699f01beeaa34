"""The default transport: real HTTP with aiohttp (asyncio only)."""

from __future__ import annotations

import io
import logging

import aiohttp
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

from .. import errors
from ..pipeline.ratelimit import Headers
from ..pipeline.wire import Request, Response, Timeout

__all__ = ["AiohttpTransport"]

log = logging.getLogger("closeasync")


_LARGE_BODY = 1 << 20
#: How much of a response an owned session buffers before it stops reading the socket.
#: aiohttp's default (64 KiB: it pauses above 128 KiB) pauses and resumes the socket
#: several times per page of 100 activities (~0.6-1 MiB), which costs event-loop turns
#: and system calls, most of all with many pages in flight at once (prefetch). A body
#: is read whole either way, so this does not raise how much memory a response takes.
_READ_BUFFER = 1 << 20


def _payload(content: bytes | None) -> bytes | io.BytesIO | None:
    # aiohttp warns that large raw bytes may block the loop; a stream is written in chunks.
    return io.BytesIO(content) if content is not None and len(content) > _LARGE_BODY else content


#: The first aiohttp whose silent resend can be turned off (``ClientSession._retry_connection``).
#: aiohttp 3.10 resends a PUT or DELETE on a dropped pooled connection with no switch at
#: all: 8 sending PUTs whose answers were lost reached the server 16 times.
SAFE_AIOHTTP = (3, 11)


def _aiohttp_version() -> tuple[int, ...]:
    return tuple(int(part) for part in aiohttp.__version__.split(".")[:2] if part.isdigit())


def _no_silent_resend(session: aiohttp.ClientSession) -> None:
    """Stop aiohttp from quietly sending a GET/PUT/DELETE again when a pooled connection drops.

    aiohttp does this once, unseen by the retry policy, so a PUT that sends an email
    could go out twice and a DELETE could report a 404 for what it deleted. Whether to
    repeat is the policy's decision alone (a borrowed session is changed too, for the
    same reason). There is no public switch. aiohttp 3.11+ (the floor we declare) has
    the attribute; a newer aiohttp without it is one that no longer resends (the
    resilience tests run on every aiohttp line we allow).
    """
    if getattr(session, "_retry_connection", False):
        session._retry_connection = False


def _refuse_unsafe_aiohttp() -> None:
    """Refuse an aiohttp older than the declared floor (installed with ``--no-deps``, say)."""
    if _aiohttp_version() < SAFE_AIOHTTP:
        raise errors.ConfigurationError(
            f"aiohttp {aiohttp.__version__} may send a sending PUT twice when a kept-alive "
            f"connection drops; closeasync needs aiohttp >= {'.'.join(map(str, SAFE_AIOHTTP))}"
        )


def _closed_by_owner() -> errors.ClientClosedError:
    return errors.ClientClosedError("the aiohttp session given to this client was closed by its owner")


def _where(request: Request) -> dict[str, str]:
    return {"method": request.method, "url": request.url}


class AiohttpTransport:
    """Send requests with one :class:`aiohttp.ClientSession`.

    The session is created on first use, inside the running event loop (never in
    ``__init__``), unless one is passed in; a borrowed session is left open by
    :meth:`aclose`, since its owner closes it.

    Args:
        session: an existing session to borrow instead of owning one.
        timeout: default time limits, used when a request carries none.
        max_connections: connection pool size of an owned session.

    Raises:
        ConfigurationError: the installed aiohttp is older than 3.11, which re-sends a
            PUT or DELETE on its own when a kept-alive connection drops.
    """

    def __init__(
        self,
        *,
        session: aiohttp.ClientSession | None = None,
        timeout: Timeout | None = None,
        max_connections: int = 100,
    ) -> None:
        _refuse_unsafe_aiohttp()
        self._session = session
        self._owns_session = session is None
        self._timeout = timeout or Timeout()
        self._max_connections = max_connections
        self._closed = False
        self._timeouts: dict[Timeout, aiohttp.ClientTimeout] = {}
        # The last time limits and headers seen, with aiohttp's form of them: nearly every
        # request carries the client's own two objects, so an identity check finds them
        # without hashing or rebuilding anything (a frozen ``Timeout`` hashes in Python).
        self._last_limits = self._timeout
        self._last_timeout = self._client_timeout(self._timeout)
        self._last_headers: Headers = ()
        self._last_multidict: CIMultiDictProxy[str] = CIMultiDictProxy(CIMultiDict())
        if session is not None:
            _no_silent_resend(session)  # once: aiohttp sets the attribute only when it is built

    def __repr__(self) -> str:
        owner = "owned" if self._owns_session else "borrowed"
        return f"<AiohttpTransport {owner} session, max_connections={self._max_connections}>"

    @property
    def session(self) -> aiohttp.ClientSession | None:
        """The session in use, or None before the first request of an owned one."""
        return self._session

    def _get_session(self) -> aiohttp.ClientSession:
        if self._closed:
            raise errors.ClientClosedError("this transport was closed")
        if self._session is None:
            connector = aiohttp.TCPConnector(limit=self._max_connections)
            self._session = aiohttp.ClientSession(
                connector=connector, auto_decompress=True, read_bufsize=_READ_BUFFER
            )
            _no_silent_resend(self._session)
        elif self._session.closed:
            raise _closed_by_owner()
        return self._session

    async def send(self, request: Request) -> Response:
        """Send ``request``; error statuses are returned, failures raised as TransportError."""
        session = self._session
        if session is None or self._closed:
            session = self._get_session()
        limits = request.timeout or self._timeout
        if limits is self._last_limits:
            timeout = self._last_timeout
        else:
            timeout = self._last_timeout = self._client_timeout(limits)
            self._last_limits = limits
        headers = request.headers
        if headers is self._last_headers:
            sent_headers = self._last_multidict
        else:
            sent_headers = self._last_multidict = CIMultiDictProxy(CIMultiDict(headers))
            self._last_headers = headers
        content = request.content
        try:
            # Awaited, not ``async with``: aiohttp's context managers cost four coroutines a
            # request (~7k instructions of ~420k, measured) for what ``read`` does already: it
            # gives the connection back once the body is in, and closes it when it fails or is
            # cancelled. ``release`` is aiohttp's documented ending of this form, kept for safety.
            response = await session.request(
                request.method,
                URL(request.url, encoded=True),
                headers=sent_headers,
                data=None if content is None else _payload(content),
                timeout=timeout,
                allow_redirects=False,
            )
            try:
                body = await response.read()
            finally:
                response.release()
            return Response(response.status, tuple(response.headers.items()), body, request)
        except aiohttp.ConnectionTimeoutError as exc:
            raise errors.RequestTimeoutError(
                f"timed out connecting ({exc.__class__.__name__})",
                may_have_reached_server=False,
                **_where(request),
            ) from None
        except (TimeoutError, aiohttp.ServerTimeoutError) as exc:
            raise errors.RequestTimeoutError(
                f"timed out waiting for the response ({exc.__class__.__name__})",
                may_have_reached_server=True,
                **_where(request),
            ) from None
        except aiohttp.ClientConnectorError as exc:
            # Refused, unreachable, DNS or TLS failure: no byte of the request was sent.
            where = _where(request)
            raise errors.ConnectError(f"could not connect: {exc.os_error or exc}", **where) from None
        except RuntimeError:
            if session.closed:
                # A borrowed session its owner closed (checked here, not before every request:
                # aiohttp refuses with a bare RuntimeError before sending anything).
                raise _closed_by_owner() from None
            raise
        except (aiohttp.ClientError, OSError) as exc:
            # Reset, disconnected, truncated: the server may have acted on the request.
            raise errors.TransportError(
                f"connection failed mid-request: {exc.__class__.__name__}: {exc}",
                may_have_reached_server=True,
                **_where(request),
            ) from None

    def _client_timeout(self, limits: Timeout) -> aiohttp.ClientTimeout:
        """aiohttp's form of ``limits``, made once per distinct value (requests share a few)."""
        found = self._timeouts.get(limits)
        if found is None:
            if len(self._timeouts) >= 32:  # bounded, whatever callers pass
                self._timeouts.clear()
            found = self._timeouts[limits] = aiohttp.ClientTimeout(
                total=limits.total, sock_connect=limits.connect, sock_read=limits.read
            )
        return found

    async def aclose(self) -> None:
        """Close the owned session (a borrowed one is left to its owner)."""
        self._closed = True
        session, self._session = self._session, None
        if session is not None and self._owns_session and not session.closed:
            await session.close()
