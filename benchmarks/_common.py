"""What the benchmarks share: realistic emails, a server of precomputed pages, reporting.

Not a benchmark itself (``nox -s bench`` runs only ``bench_*.py``).

The emails start from the fake's demo organization (``closeasync.fake.demo``: threads
with quoted replies, opens, attachments, sequences) and are grown to Close's typical
size, ~6 KiB of JSON each, with the HTML wrapper, signature and disclaimer real mail
clients add. Every one of the N emails gets its own id and its own timestamps, so no
cache can profit from repeated values that a real listing would not repeat either.

The server runs in a child process (``python benchmarks/_common.py serve ...``) so that
it never competes with the client for the event loop or the GIL: on a 2-core machine
the client has one core to itself, as it would against Close. Each page of the listing
is serialized with orjson once, before the server starts; a request only looks up
bytes. Routes (``{root}`` is ``/api/v1``, or ``/slow/api/v1`` for the same answers
after ``--latency`` seconds):

- ``GET {root}/activity/email/?_skip=..&_limit=..``: a page of the N emails;
- ``GET {root}/activity/email/{id}/``: one email (the same one for any id).

The listing also honours the ``date_created__lt/__lte/__gt/__gte`` filters a sync walk
sends (``close.emails.sync()``, which ``closeasync.export`` walks): see
:class:`SyncAnswers`. Without them a page is answered by ``_skip`` as before.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import copy
import functools
import os
import platform
import random
import string
import subprocess
import sys
from bisect import bisect_left, bisect_right
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from importlib.metadata import version
from itertools import pairwise
from pathlib import Path
from typing import Any

import orjson
from _server import Answers

from closeasync.models import Email, Model

RESULTS = Path(__file__).with_name("RESULTS.md")
API_KEY = "api_bench_0000000000000000000000"
#: The mean JSON size of one email Close returns, roughly (headers, HTML, quoted text).
TARGET_BYTES = 6 * 1024
#: Close sends ``RateLimit`` on every answer and the SDK paces by it; the server keeps an
#: honest one-second window with a budget no benchmark reaches, so pacing never binds.
RATE_LIMIT = 1_000_000
#: The page server implementations (``_server.py``); the first is the default.
SERVER_KINDS = ("protocol", "aiohttp")
DEFAULT_SERVER = SERVER_KINDS[0]

_ALNUM = string.ascii_letters + string.digits
_DISCLAIMER = (
    "CONFIDENTIALITY NOTICE: This message and any attachments are intended only for the named "
    "recipient(s) and may contain information that is confidential or privileged. If you received "
    "it in error, please tell the sender at once and delete it; do not copy, forward or rely on it. "
)
_HISTORY = (
    "Following up on our call: the team liked the reporting view and asked whether the sequence "
    "step delays can be set per contact. I said I would check with product and come back by Friday. ",
    "Attached is the updated proposal with the annual pricing we discussed, plus the security "
    "overview your IT lead asked for. Happy to walk through either on a quick call this week. ",
    "Quick recap of next steps: we set up the pilot workspace, import the first 500 leads from the "
    "spreadsheet, and connect the two shared inboxes. Kickoff on Tuesday works on our side. ",
)


#: The fields every benchmark client reads of every email: a sync job's columns. closeasync's
#: models convert fields when first read, so reading nothing would not measure them.
COLUMNS = ("id", "lead_id", "date_created", "status", "subject")


def read_columns(email: Email) -> tuple[object, ...]:
    return (email.id, email.lead_id, email.date_created, email.status, email.subject)


def read_dict_columns(item: dict[str, object]) -> tuple[object, ...]:
    return (item["id"], item["lead_id"], item["date_created"], item["status"], item["subject"])


def read_every_field(model: Model) -> int:
    """Read every field a model holds, nested models and lists of them too; count the values."""
    count = 0
    values = model.__dict__
    for name in _names(type(model)):
        if name not in values:
            continue  # absent: nothing to read
        value = getattr(model, name)
        count += 1
        if isinstance(value, Model):
            count += read_every_field(value)
        elif isinstance(value, list):
            for item in value:
                if isinstance(item, Model):
                    count += read_every_field(item)
    return count


@functools.cache
def _names(cls: type[Model]) -> tuple[str, ...]:
    return tuple(a.name for a in cls.__attrs_attrs__)


def _new_id(rng: random.Random, prefix: str) -> str:
    return prefix + "_" + "".join(rng.choices(_ALNUM, k=43))


def _stamp(when: datetime) -> str:
    return when.isoformat(timespec="microseconds")


def _demo_emails(seed: int) -> list[dict[str, Any]]:
    """The Email activities of the demo organization, in wire form."""
    from closeasync.fake import FakeClose
    from closeasync.fake.demo import load_demo

    fake = FakeClose(seed=seed)
    load_demo(fake, leads=300)
    return [copy.deepcopy(e) for e in fake.state.of_type("Email")]


def _grow(email: dict[str, Any], rng: random.Random, target: int) -> None:
    """Add what real mail clients add until the email is about ``target`` bytes of JSON."""
    sender = email.get("sender") or "Sales <sales@fake.close.test>"
    name = sender.split("<")[0].strip() or "Sales"
    signature = f"\n\n--\n{name}\nAccount Executive | Fake Close Test\n+1 555-0100 | fake.close.test\n"
    email["body_text"] = (email.get("body_text") or "") + signature
    html = email.get("body_html") or ""
    email["body_html"] = (
        '<div dir="ltr"><div style="font-family:Arial,Helvetica,sans-serif;font-size:14px;color:#222222">'
        + html
        + '</div><div class="gmail_signature" data-smartmail="gmail_signature"><table cellpadding="0" '
        'cellspacing="0" style="font-size:12px;color:#555555"><tr><td style="padding-right:8px">'
        f"<b>{name}</b><br>Account Executive | Fake Close Test<br>"
        '<a href="https://fake.close.test">fake.close.test</a> | +1 555-0100</td></tr></table></div></div>'
    )
    size = len(orjson.dumps(email))
    missing = target - size
    while missing > 0:  # older quoted history and a disclaimer, split between text and HTML
        chunk = rng.choice((*_HISTORY, _DISCLAIMER))
        chunk = chunk[: max(40, missing // 2)]
        email["body_text"] += "\n> " + chunk
        email["body_html"] += f"<blockquote><p>{chunk}</p></blockquote>"
        missing -= 2 * len(chunk) + 40


def build_emails(n: int, *, seed: int = 1) -> list[dict[str, Any]]:
    """``n`` realistic Email activities (~6 KiB of JSON each), newest first, all distinct.

    Deterministic for a given ``seed``.
    """
    rng = random.Random(seed)
    demo = _demo_emails(seed)
    when = datetime(2026, 11, 20, 17, 0, tzinfo=UTC)
    out = []
    for index in range(n):
        email = copy.deepcopy(demo[index % len(demo)])
        email["id"] = _new_id(rng, "acti")
        when -= timedelta(seconds=rng.uniform(5, 600), microseconds=rng.randrange(1_000_000))
        stamp = _stamp(when)
        email["date_created"] = stamp
        # Like Close: updated a little later when replied to, else the same instant.
        later = when + timedelta(seconds=rng.uniform(60, 86_400)) if email.get("has_reply") else when
        email["date_updated"] = _stamp(later)
        email["activity_at"] = stamp
        if email.get("date_sent") is not None:
            email["date_sent"] = stamp
        for opened in email.get("opens") or []:
            opened["opened_at"] = _stamp(when + timedelta(seconds=rng.uniform(60, 90_000)))
        _grow(email, rng, max(2_000, round(rng.gauss(TARGET_BYTES, 900))))
        out.append(email)
    return out


def page_bodies(emails: Sequence[dict[str, Any]], page_size: int) -> dict[int, bytes]:
    """The JSON bodies of a listing, by ``_skip``: ``{"data": [...], "has_more": ...}``."""
    bodies = {}
    for skip in range(0, len(emails) + 1, page_size):
        data = emails[skip : skip + page_size]
        bodies[skip] = orjson.dumps({"data": data, "has_more": skip + page_size < len(emails)})
    return bodies


# --- the server (child process) ---------------------------------------------------------------


#: The ``date_created`` filters a sync walk sends (``closeasync/sync.py``).
DATE_FILTERS = ("date_created__lt", "date_created__lte", "date_created__gt", "date_created__gte")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _micros(stamp: str) -> int:
    """An ISO 8601 timestamp as integer microseconds (exact, unlike a float timestamp)."""
    return (datetime.fromisoformat(stamp) - _EPOCH) // timedelta(microseconds=1)


class SyncAnswers(Answers):
    """:class:`Answers` whose listing also honours a sync walk's ``date_created`` filters.

    The emails are newest first, as Close lists them; ``date_created__lte=T`` (say) keeps
    those created at or before ``T``, and ``_skip``/``_limit`` then count within what the
    filters keep, as on Close. A request without any of :data:`DATE_FILTERS` is answered
    by :meth:`Answers.page` exactly as before (``bench_list`` sends none). A filtered page
    is serialized on its first request and kept (up to ``max_cached`` of them), so once a
    benchmark's warm-up walk has been through, a request only looks up bytes again.
    """

    def __init__(self, *args: Any, max_cached: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Negated, so that the newest-first list is in ascending order for bisect.
        self.keys = [-_micros(e["date_created"]) for e in self.emails]
        if any(a > b for a, b in pairwise(self.keys)):
            raise ValueError("the emails must be newest first by date_created")
        self.max_cached = max_cached
        self.cached: dict[tuple[int, int, int], bytes] = {}

    def page(self, query: dict[str, str]) -> bytes:
        if not any(name in query for name in DATE_FILTERS):
            return super().page(query)
        low, high = self.window(query)
        start = low + int(query.get("_skip", 0))
        limit = int(query.get("_limit", self.page_size))
        key = (start, limit, high)
        body = self.cached.get(key)
        if body is None:
            end = max(start, min(start + limit, high))
            body = orjson.dumps({"data": self.emails[start:end], "has_more": start + limit < high})
            if len(self.cached) < self.max_cached:
                self.cached[key] = body
        return body

    def window(self, query: Mapping[str, str]) -> tuple[int, int]:
        """The index range ``[low, high)`` of the emails the date filters keep."""
        low, high = 0, len(self.emails)
        for name in DATE_FILTERS:
            if name not in query:
                continue
            key = -_micros(query[name])
            if name == "date_created__lte":  # created at or before: from the first one <= T
                low = max(low, bisect_left(self.keys, key))
            elif name == "date_created__lt":
                low = max(low, bisect_right(self.keys, key))
            elif name == "date_created__gte":  # created at or after: up to the last one >= T
                high = min(high, bisect_right(self.keys, key))
            else:
                high = min(high, bisect_left(self.keys, key))
        return low, max(low, high)


def _serve(args: argparse.Namespace) -> None:
    from _server import SERVERS

    emails = build_emails(args.emails, seed=args.seed)
    pages = page_bodies(emails, args.page_size)
    # GET answers with the email nearest the typical size, whatever the id.
    one = min((orjson.dumps(e) for e in emails[:1000]), key=lambda b: abs(len(b) - TARGET_BYTES))
    # Room for a sync walk's pages (each starts one email early) a few times over.
    answers = SyncAnswers(emails, pages, args.page_size, one, RATE_LIMIT, max_cached=4 * len(pages) + 16)
    sizes = [len(orjson.dumps(e)) for e in emails]

    def started(port: int) -> None:
        print(f"READY {port} {sum(sizes) / len(sizes):.0f} {len(one)}", flush=True)

    asyncio.run(SERVERS[args.server](answers, args.latency, started))


class Server:
    """A running page server: ``base_url`` answers at once, ``slow_url`` after the latency."""

    def __init__(self, process: subprocess.Popen[str], port: int, mean_bytes: float, one_bytes: int) -> None:
        self.process = process
        self.base_url = f"http://127.0.0.1:{port}/api/v1"
        self.slow_url = f"http://127.0.0.1:{port}/slow/api/v1"
        self.mean_bytes = mean_bytes
        self.one_bytes = one_bytes


@contextlib.contextmanager
def page_server(
    emails: int,
    *,
    page_size: int = 100,
    latency: float = 0.05,
    seed: int = 1,
    server: str = DEFAULT_SERVER,
    timeout: float = 120,
) -> Iterator[Server]:
    """Start the page server in a child process; stop it when the block ends.

    ``server`` picks the implementation (see ``_server.py``): ``protocol`` or ``aiohttp``.
    """
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "serve",
        f"--emails={emails}",
        f"--page-size={page_size}",
        f"--latency={latency}",
        f"--seed={seed}",
        f"--server={server}",
    ]
    process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        line = _read_line(process, timeout)
        if not line.startswith("READY "):
            raise RuntimeError(f"the page server did not start: {line!r}")
        _, port, mean, one = line.split()
        yield Server(process, int(port), float(mean), int(one))
    finally:
        if process.stdin is not None:
            with contextlib.suppress(OSError):
                process.stdin.close()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _read_line(process: subprocess.Popen[str], timeout: float) -> str:
    import threading

    result: list[str] = []
    reader = threading.Thread(target=lambda: result.append(process.stdout.readline()), daemon=True)  # type: ignore[union-attr]
    reader.start()
    reader.join(timeout)
    if not result:
        process.kill()
        raise RuntimeError(f"the page server did not start within {timeout:g} s")
    return result[0].strip()


@contextlib.asynccontextmanager
async def async_page_server(emails: int, **kwargs: Any) -> AsyncIterator[Server]:
    """:func:`page_server` for async code (starting it is blocking, so in a thread)."""
    manager = page_server(emails, **kwargs)
    server = await asyncio.to_thread(manager.__enter__)
    try:
        yield server
    finally:
        await asyncio.to_thread(manager.__exit__, None, None, None)


# --- reporting ---------------------------------------------------------------------------------


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.partition(":")[2].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> str:
    return f"{platform.platform()}, {cpu_model()}, {os.cpu_count()} CPUs"


def versions() -> str:
    import aiohttp

    names = ("closeasync", "attrs", "cattrs", "orjson", "closeio", "requests")
    return f"Python {platform.python_version()}, aiohttp {aiohttp.__version__}, " + ", ".join(
        f"{name} {version(name)}" for name in names
    )


def table(rows: Sequence[Sequence[str]], *, markdown: bool) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    if markdown:
        lines = [
            "| " + " | ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) + " |"
            for row in rows
        ]
        lines.insert(1, "| " + " | ".join("-" * w for w in widths) + " |")
        return "\n".join(lines)
    return "\n".join("  ".join(cell.rjust(w) for cell, w in zip(row, widths, strict=True)) for row in rows)


def append_results(title: str, command: str, details: Sequence[str], body: Sequence[str]) -> None:
    """Append a section to RESULTS.md: title, machine, versions, command, then ``body`` lines."""
    section = [
        f"## {title} ({datetime.now(UTC):%Y-%m-%d %H:%M} UTC)",
        "",
        f"- Machine: {machine()}",
        f"- Versions: {versions()}",
        *(f"- {line}" for line in details),
        f"- Command: `{command}`",
        "",
        *body,
        "",
    ]
    existing = (
        RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n\nNewest last; see README.md.\n"
    )
    RESULTS.write_text(existing.rstrip("\n") + "\n\n" + "\n".join(section))


def median(values: Sequence[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="the benchmarks' page server (child process)")
    parser.add_argument("mode", choices=["serve"])
    parser.add_argument("--emails", type=int, default=20_000)
    parser.add_argument("--page-size", type=int, default=100)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--server", choices=SERVER_KINDS, default=DEFAULT_SERVER)
    _serve(parser.parse_args())
