"""What the commands share: exit codes, the key, the client, dates, and errors said plainly."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import errors
from ..client import DEFAULT_BASE_URL, CloseAsync
from ..retry import RetryPolicy
from ._exits import EXIT_CODES_HELP, ExitCode
from ._notices import RetryNotices

if TYPE_CHECKING:
    from .. import RequestEvent

__all__ = [
    "EXIT_CODES_HELP",
    "ExitCode",
    "Interrupted",
    "UsageError",
    "add_connection_args",
    "count",
    "explain",
    "fail",
    "open_client",
    "port",
    "run_async",
    "seconds",
    "when",
]


CONNECTION_HELP = """\
The API key is read from the CLOSE_API_KEY environment variable, or from the file
given with --api-key-file; it is never printed, logged or stored."""


class UsageError(Exception):
    """A problem with how the command was called (exit status 2)."""


class Interrupted(Exception):
    """The run was stopped by a signal; ``code`` is the exit status (128 + signal)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.code = 128 + signum


def port(text: str) -> int:
    value = int(text)
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"must be 0 to 65535 (0: any free port), got {value}")
    return value


def count(minimum: int, maximum: int | None = None) -> Callable[[str], int]:
    def parse(text: str) -> int:
        value = int(text)
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be {minimum} or more, got {value}")
        if maximum is not None and value > maximum:
            raise argparse.ArgumentTypeError(f"must be {maximum} or less (Close's maximum), got {value}")
        return value

    parse.__name__ = "number"  # argparse says "invalid number value: 'x'"
    return parse


def seconds(text: str) -> float:
    """A positive number of seconds.

    >>> seconds("2.5")
    2.5
    """
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, got {text}")
    return value


def when(text: str) -> datetime:
    """A date (midnight UTC) or an ISO 8601 datetime (UTC unless it has an offset).

    >>> when("2026-01-05").isoformat(), when("2026-01-05T09:30+02:00").isoformat()
    ('2026-01-05T00:00:00+00:00', '2026-01-05T09:30:00+02:00')
    """
    try:
        value = datetime.fromisoformat(text)  # a bare date is its midnight; "Z" is UTC
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not a date or datetime: {text!r} (e.g. 2026-01-05 or 2026-01-05T09:30:00Z)"
        ) from None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


when.__name__ = "date"


def add_connection_args(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("connection")
    group.add_argument(
        "--api-key-file",
        metavar="PATH",
        type=Path,
        help="read the API key from this file (default: the CLOSE_API_KEY environment variable)",
    )
    group.add_argument(
        "--base-url",
        metavar="URL",
        default=os.environ.get("CLOSE_BASE_URL") or DEFAULT_BASE_URL,
        help="the API root (default: $CLOSE_BASE_URL or %(default)s); e.g. a `closeasync serve` fake",
    )
    group.add_argument(
        "--retries",
        type=count(0),
        default=5,
        metavar="N",
        help="retry a failed read up to N times, after a 429, 5xx or lost connection, saying so on "
        "standard error (default: %(default)s)",
    )


def _api_key(args: argparse.Namespace) -> str:
    path: Path | None = args.api_key_file
    if path is not None:
        try:
            key = path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise UsageError(f"cannot read --api-key-file {path}: {exc.strerror or exc}") from None
        except UnicodeDecodeError:
            raise UsageError(
                f"--api-key-file {path} is not UTF-8 text; it should hold only the API key"
            ) from None
        if not key:
            raise UsageError(f"--api-key-file {path} is empty; it should hold only the API key")
        return key
    key = os.environ.get("CLOSE_API_KEY", "").strip()
    if not key:
        raise UsageError(
            "no API key: set CLOSE_API_KEY, or pass --api-key-file PATH (a file holding only the key). "
            "Close makes keys under Settings > Developer > API Keys."
        )
    return key


def open_client(
    args: argparse.Namespace,
    *,
    on_event: Callable[[RequestEvent], None] | None = None,
    say: Callable[[str], None] | None = None,
    **options: Any,
) -> CloseAsync:
    """The client the command uses, from ``--api-key-file``/``CLOSE_API_KEY`` and ``--base-url``.

    Each retry is told as it starts (after a 429, only a long pause), through ``say``
    (default: a line on standard error), so a run that cannot reach Close is not silent
    while it tries again. ``on_event`` also gets every event.
    """
    key = _api_key(args)
    retry = RetryPolicy(max_attempts=args.retries + 1)
    if say is None:
        prefix = f"closeasync {args.command}: "

        def say(text: str) -> None:
            print(prefix + text, file=sys.stderr, flush=True)

    notices = RetryNotices(args.base_url, retry.max_attempts, say, secret=key)
    hooks = [notices.on_event] if on_event is None else [notices.on_event, on_event]
    try:
        return CloseAsync(api_key=key, base_url=args.base_url, retry=retry, on_event=hooks, **options)
    except errors.ConfigurationError as exc:
        raise UsageError(str(exc)) from None


def _fields(problems: dict[str, Any], general: list[str]) -> str:
    lines = [f"  {field}: {message}" for field, message in problems.items()]
    lines += [f"  {message}" for message in general]
    return "\n" + "\n".join(lines) if lines else ""


def _wrong_root(base_url: str) -> str:
    """Why a listing Close always has can answer 404: the API root is not Close's."""
    if base_url.rstrip("/") == DEFAULT_BASE_URL.rstrip("/"):
        return f"Close has this listing, so something between here and {base_url} answered instead"
    return (
        f"Close has this listing, so the API root is likely wrong: --base-url (or CLOSE_BASE_URL) is "
        f"{base_url}; Close's is {DEFAULT_BASE_URL}"
    )


def explain(exc: BaseException, base_url: str, *, listing: bool = False) -> tuple[ExitCode, str] | None:
    """The exit status and a plain message for an error, or None for one we do not know.

    ``listing``: the command only lists (export, list), so a 404 cannot mean a missing
    object: it means the route is not there, most likely a wrong ``--base-url``.
    """
    if isinstance(exc, UsageError):
        return ExitCode.USAGE, str(exc)
    if isinstance(exc, errors.InvalidRequestError):
        return ExitCode.USAGE, "refused before sending:" + _fields(exc.field_errors, exc.errors)
    if isinstance(exc, errors.AuthenticationError):
        return ExitCode.API, (
            "Close refused the API key (HTTP 401): check CLOSE_API_KEY or --api-key-file "
            "(the key may be mistyped, revoked, or for another organization)"
        )
    if isinstance(exc, errors.PermissionDeniedError):
        return ExitCode.API, f"this API key may not do that (HTTP 403): {exc.message}"
    if isinstance(exc, errors.BadRequestError):
        detail = _fields(exc.field_errors, exc.errors) or f" {exc.message}"
        return ExitCode.API, f"Close refused the request (HTTP 400):{detail}"
    if isinstance(exc, errors.NotFoundError):
        message = f"not found (HTTP 404): {exc.method} {exc.url}"
        return ExitCode.API, message + (f"\n{_wrong_root(base_url)}" if listing else "")
    if isinstance(exc, errors.RateLimitError):
        return ExitCode.API, f"Close's rate limit held us back too long: {exc}"
    if isinstance(exc, errors.APIError):
        return ExitCode.API, f"Close answered with an error: {exc}"
    if isinstance(exc, errors.TransportError):
        return ExitCode.NETWORK, (
            f"cannot reach Close at {base_url}: {exc}. Check the network (or --base-url) and run again"
        )
    if isinstance(exc, errors.ResponseValidationError):
        return ExitCode.API, f"Close's answer was not what the SDK expects: {exc}"
    if isinstance(exc, errors.CloseError):
        return ExitCode.FAILED, str(exc)
    return None


def fail(command: str, code: ExitCode, message: str) -> int:
    print(f"closeasync {command}: {message}", file=sys.stderr, flush=True)
    return int(code)


def run_async(main: Callable[[], Coroutine[Any, Any, int]]) -> int:
    """``asyncio.run(main())``, with SIGTERM stopping it the way Ctrl+C does.

    Either signal cancels the task, so its cleanups run (an export saves what it
    has); then :class:`Interrupted` is raised with the exit status.
    """
    terminated = False

    async def wrapper() -> int:
        task = asyncio.current_task()
        loop = asyncio.get_running_loop()

        def on_terminate() -> None:
            nonlocal terminated
            terminated = True
            if task is not None:
                task.cancel()

        with contextlib.suppress(NotImplementedError, RuntimeError):  # Windows; not the main thread
            loop.add_signal_handler(signal.SIGTERM, on_terminate)
        return await main()

    try:
        return asyncio.run(wrapper())
    except KeyboardInterrupt:
        raise Interrupted(signal.SIGINT) from None
    except asyncio.CancelledError:
        if terminated:
            raise Interrupted(signal.SIGTERM) from None
        raise
