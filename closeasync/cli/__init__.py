"""The ``closeasync`` command (also ``python -m closeasync``).

::

    closeasync demo                                   # the SDK against an embedded fake Close
    closeasync export emails --to close.sqlite        # copy Close emails into SQLite, resumably
    closeasync get email acti_...                     # one email as JSON
    closeasync list activities --lead lead_...        # a lead's timeline as JSON Lines
    closeasync serve --demo --port 8000               # a fake Close for any client, on 127.0.0.1

``export``, ``get`` and ``list`` read the API key from ``CLOSE_API_KEY`` or
``--api-key-file``; ``demo`` and ``serve`` need neither a key nor a network.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from .._version import __version__
from ._exits import EXIT_CODES_HELP, ExitCode

# The commands (and through them the SDK, aiohttp and the models) are imported by
# build_parser(), inside main()'s handling of Ctrl+C: they take a few hundred
# milliseconds to load, and Ctrl+C pressed meanwhile must end quietly too.

__all__ = ["ExitCode", "build_parser", "main"]

_DESCRIPTION = """\
closeasync is an async, typed Python SDK for the Close CRM API. This command copies
Close emails, SMS and other activities into SQLite, PostgreSQL or JSON Lines (resumably), prints
them as JSON, and runs an in-memory fake of Close (ids, status rules, validation,
pagination and rate-limit headers as Close has them) so that all of it can be tried
without an API key or a network."""
_EPILOG = f"""\
examples:
  closeasync demo                              export a demo organization over HTTP on 127.0.0.1
  closeasync export emails --to close.sqlite   copy every email (CLOSE_API_KEY holds the key)
  closeasync serve --demo --port 8000          serve a fake Close with 300 demo leads
  closeasync export --help                     the options of one command

{EXIT_CODES_HELP}"""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``closeasync`` command."""
    from ._export import add_export_command
    from ._inspect import add_inspect_commands
    from ._serve import add_demo_command, add_serve_command

    parser = argparse.ArgumentParser(
        prog="closeasync",
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"closeasync {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    add_demo_command(commands)
    add_export_command(commands)
    add_inspect_commands(commands)
    add_serve_command(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; return its exit status (see :class:`ExitCode`)."""
    try:
        return _run(argv)
    except KeyboardInterrupt:
        # Ctrl+C before a command's own handling took over (mostly while importing):
        # the same quiet 130 as after it, not a traceback.
        return ExitCode.INTERRUPTED


def _run(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if args.command == "serve" and args.leads is not None and not args.demo:
            args.parser.error("--leads needs --demo")
    except SystemExit as exc:  # --help, --version and usage errors
        return exc.code if isinstance(exc.code, int) else 0 if exc.code is None else ExitCode.USAGE
    try:
        code: int = args.run(args)
    except BrokenPipeError:
        # The reader of standard output went away (`closeasync export sms --to - | head -2`):
        # end quietly with 0, as Unix tools do. Standard output now goes to devnull, so the
        # interpreter's last flush of what is still buffered does not fail in its turn.
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, sys.stdout.fileno())
        finally:
            os.close(devnull)
        return ExitCode.OK
    return code
