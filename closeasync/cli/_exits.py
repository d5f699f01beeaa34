"""The command's exit statuses: a module of its own, light to import.

``closeasync.cli`` imports nothing heavy before it runs a command (the SDK, aiohttp and
the models take a few hundred milliseconds to import), so Ctrl+C pressed while they
load still ends the command quietly with :attr:`ExitCode.INTERRUPTED`.
"""

from __future__ import annotations

import enum

__all__ = ["EXIT_CODES_HELP", "ExitCode"]


class ExitCode(enum.IntEnum):
    """What the process exit status says (documented in every command's ``--help``)."""

    OK = 0
    FAILED = 1  # something else went wrong (writing the output, say)
    USAGE = 2  # bad arguments, no key, a filter the SDK refuses before sending
    API = 3  # Close answered with an error (wrong key, bad filter, not found...)
    NETWORK = 4  # Close could not be reached (after retries)
    INTERRUPTED = 130  # Ctrl+C (SIGINT); 143 for SIGTERM


EXIT_CODES_HELP = """\
exit status:
  0 done (also when the reader of standard output goes away, as `| head` does); 1
  failed otherwise (e.g. the disk filled up); 2 usage error (bad arguments, no API key,
  an output that cannot be written, a filter refused before sending); 3 Close answered
  with an error (wrong key, bad filter, not found); 4 Close could not be reached; 130
  or 143 interrupted (Ctrl+C, SIGTERM)."""
