"""``closeasync serve`` and ``closeasync demo``: a fake Close to try the SDK on.

Neither needs an API key or a network beyond 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ._common import Interrupted, count, port, run_async

# The fake, its demo data and aiohttp.web are imported inside the functions that run
# `serve` and `demo`: every other command (and --help) starts without loading them.
if TYPE_CHECKING:
    from ..fake import FakeClose

__all__ = ["CLOSEIO_CALL", "add_demo_command", "add_serve_command"]

#: How the official client (``closeio`` on PyPI) is pointed at the fake, as the help says it.
#: Not ``closeio_api.Client(api_key, base_url)``: that one always calls api.close.com and takes
#: the second argument as its tz_offset. ``API`` appends each endpoint to ``base_url`` as it is,
#: hence the slash. tests/test_closeio_compat.py runs exactly this text against the served fake.
CLOSEIO_CALL = 'closeio_api.API(base_url + "/", api_key=api_key)'

_SERVE = f"""\
Serve a fake Close over HTTP until Ctrl+C (SIGINT) or SIGTERM. On start it prints one
"name: value" line per fact to stdout: base_url, api_key (the fake's own key, not a
secret), seed, clock, and with --demo what was loaded. Point any client at it, with
base_url and api_key as printed:

  CloseAsync(api_key=api_key, base_url=base_url)
  {CLOSEIO_CALL}    # the official closeio client"""
_SERVE_EPILOG = """\
examples:
  closeasync serve --demo                      300 demo leads at http://127.0.0.1:8000/api/v1
  closeasync serve --port 0 --demo --leads 20  any free port (read base_url from stdout)
  closeasync serve --api-key api_test --frozen-clock --seed 7

The clock starts at the current time and runs; with --frozen-clock it starts at
2026-01-05T09:00:00Z and stays there: messages scheduled for later stay scheduled.

exit status: 0 stopped by Ctrl+C or SIGTERM; 1 cannot listen on the address; 2 usage error."""
_DEMO = """\
Run the SDK against an embedded fake Close with demo data, served on 127.0.0.1:
export every activity into a temporary SQLite file (as `closeasync export` does)
and check the rows against the fake; list one lead's timeline; walk an email and an
SMS through Close's status rules (draft, edit, a send refused for a missing sender,
send, cancel, schedule, and the scheduled send going out as the fake's clock
moves); then export again with resume, which fetches only those two new messages.
Prints a short report; exits 0 when every step behaved as Close documents."""
_DEMO_EPILOG = """\
examples:
  closeasync demo
  closeasync demo --leads 50 --seed 3

exit status: 0 every step behaved as Close documents; 1 a step did not; 2 usage error;
130 or 143 interrupted (Ctrl+C, SIGTERM)."""


def add_serve_command(commands: Any) -> None:
    formatter = argparse.RawDescriptionHelpFormatter
    serve = commands.add_parser(
        "serve",
        help="serve a fake Close over HTTP",
        description=_SERVE,
        epilog=_SERVE_EPILOG,
        formatter_class=formatter,
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default: %(default)s)")
    serve.add_argument(
        "--port", type=port, default=8000, help="port, 0 for any free one (default: %(default)s)"
    )
    serve.add_argument("--seed", type=int, default=1, help="seed of ids and demo data (default: %(default)s)")
    serve.add_argument(
        "--demo", action="store_true", help="load a demo organization (leads, contacts, activities)"
    )
    serve.add_argument(
        "--leads", type=count(0), metavar="N", help="with --demo: how many leads (default: 300)"
    )
    serve.add_argument(
        "--api-key", metavar="KEY", help="the key the fake accepts (default: its built-in key)"
    )
    serve.add_argument("--frozen-clock", action="store_true", help="keep the fake's clock still")
    serve.set_defaults(run=_run_serve, parser=serve)


def add_demo_command(commands: Any) -> None:
    formatter = argparse.RawDescriptionHelpFormatter
    demo = commands.add_parser(
        "demo",
        help="run the SDK against an embedded fake Close",
        description=_DEMO,
        epilog=_DEMO_EPILOG,
        formatter_class=formatter,
    )
    demo.add_argument(
        "--leads", type=count(1), default=300, metavar="N", help="demo leads (default: %(default)s)"
    )
    demo.add_argument("--seed", type=int, default=1, help="seed of ids and demo data (default: %(default)s)")
    demo.set_defaults(run=_run_demo, parser=demo)


def _run_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    try:
        return run_async(lambda: run_demo(leads=args.leads, seed=args.seed))
    except Interrupted as exc:  # its temporary folder and server are cleaned up by then
        print(f"closeasync demo: interrupted ({exc})", file=sys.stderr, flush=True)
        return exc.code


def _run_serve(args: argparse.Namespace) -> int:
    from ..fake import DEFAULT_API_KEY, DEFAULT_START, FakeClose
    from ..fake.demo import load_demo

    keys = (args.api_key or DEFAULT_API_KEY,)
    start = DEFAULT_START if args.frozen_clock else datetime.now(UTC).replace(microsecond=0)
    fake = FakeClose(api_keys=keys, seed=args.seed, start=start, realtime=not args.frozen_clock)
    summary = load_demo(fake, leads=300 if args.leads is None else args.leads) if args.demo else None
    facts = {
        "api_key": fake.api_key,
        "seed": str(args.seed),
        "clock": f"{'frozen at' if args.frozen_clock else 'running from'} {start.isoformat()}",
    }
    if summary is not None:
        facts["demo"] = summary.describe()
    try:
        return asyncio.run(_serve_until_stopped(fake, args.host, args.port, facts))
    except KeyboardInterrupt:  # where signal handlers cannot be installed (Windows)
        return 0


async def _serve_until_stopped(fake: FakeClose, host: str, port: int, facts: dict[str, str]) -> int:
    """Serve until SIGINT or SIGTERM; print the facts once listening."""
    from ..fake.app import serve

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        # Not on Windows: there Ctrl+C raises KeyboardInterrupt, which _run_serve catches.
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stop.set)
    async with AsyncExitStack() as stack:
        try:
            server = await stack.enter_async_context(serve(fake, host=host, port=port))
        except OSError as exc:
            print(f"closeasync serve: cannot listen on {host}:{port}: {exc.strerror or exc}", file=sys.stderr)
            return 1
        print(f"base_url: {server.base_url}")
        for name, value in facts.items():
            print(f"{name}: {value}")
        sys.stdout.flush()
        if host not in ("127.0.0.1", "::1", "localhost"):
            print(f"warning: listening on {host}; the fake checks only its API key", file=sys.stderr)
        print("Serving a fake Close; press Ctrl+C to stop.", file=sys.stderr, flush=True)
        await stop.wait()
    print("Stopped.", file=sys.stderr, flush=True)
    return 0
