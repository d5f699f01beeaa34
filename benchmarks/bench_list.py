"""Listing 20,000 emails: closeasync typed vs raw aiohttp + orjson vs the official ``closeio`` client.

A child process serves precomputed pages of ~6 KiB realistic emails on 127.0.0.1 (see
``_common.py``). Each paired run lists all N emails once with each client, in a rotating
order, in this one process:

- closeasync: ``async for email in close.emails.list(page_size=100)`` (typed, streamed);
- raw: one aiohttp session (the same settings as closeasync's), ``GET`` each page in turn,
  ``orjson.loads`` the body, walk the dicts;
- closeio: ``closeio_api.API(base_url + "/", api_key=...).get("activity/email", params=...)``
  with ``_skip``/``_limit`` until ``has_more`` is false, in a worker thread.

Every client reads the same five fields of every email, a sync job's columns
(``COLUMNS``): closeasync gets them typed (``date_created`` a ``datetime``, ``status`` a
``MessageStatus``), the others as JSON strings. closeasync's models convert such
fields when they are first read, so a benchmark that read nothing would not measure
them. For information, "closeasync, every field" reads all of each email's fields,
nested models included (what ``to_dict`` or a full copy into a database does).

Reported: median throughput of each, and the medians of the per-run ratios closeasync/raw
(throughput) and closeasync/closeio (time). Then the same listing with ``--latency``
seconds of server delay per page, against sequential closeio, with ``prefetch=N`` in both
of closeasync's forms: ``async with close.emails.list(prefetch=N) as emails: async for ...``
(N requests kept on the wire all along; the target's measure) and plain ``async for``
over ``list(prefetch=N)`` (windows of N pages, for information), for N = 10 and 20 by
default. Each request still takes the full latency plus its transfer, as each of
closeio's does, so N requests in flight can be at most ~N times as fast as one at a
time: with N = 10 the 10x target is the ceiling itself, hence N = 20 as well.
For information only, closeasync and raw are also timed with the garbage collector off
(``--no-gc-info`` skips that).

    python benchmarks/bench_list.py --emails 20000 --runs 5 --latency 0.05 --latency-runs 3

Every loop is bounded (pages and runs are counted, and each run has a time limit).
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import gc
import shlex
import time
from collections.abc import Awaitable, Callable, Sequence

import aiohttp
import orjson
from _common import (
    API_KEY,
    DEFAULT_SERVER,
    SERVER_KINDS,
    Server,
    append_results,
    async_page_server,
    median,
    read_columns,
    read_dict_columns,
    read_every_field,
    table,
)
from closeio_api import API

from closeasync import CloseAsync

#: A single run that takes longer than this has gone wrong.
RUN_TIMEOUT = 120.0


async def list_closeasync(
    base_url: str, page_size: int, prefetch: int | None = None, *, every_field: bool = False
) -> int:
    extra = {} if prefetch is None else {"prefetch": prefetch}
    async with CloseAsync(api_key=API_KEY, base_url=base_url) as close:
        count = 0
        async for email in close.emails.list(page_size=page_size, **extra):
            if every_field:
                read_every_field(email)
            else:
                read_columns(email)
            count += 1
        return count


async def list_closeasync_streamed(base_url: str, page_size: int, prefetch: int) -> int:
    """``async with listing as items``: ``prefetch`` requests kept on the wire all along."""
    async with CloseAsync(api_key=API_KEY, base_url=base_url) as close:
        count = 0
        async with close.emails.list(page_size=page_size, prefetch=prefetch) as emails:
            async for email in emails:
                read_columns(email)
                count += 1
        return count


async def list_raw(base_url: str, page_size: int) -> int:
    """What closeasync does minus the SDK: same session settings, dicts instead of models."""
    connector = aiohttp.TCPConnector(limit=100)
    headers = {"Authorization": aiohttp.encode_basic_auth(API_KEY, ""), "Accept": "application/json"}
    url = f"{base_url}/activity/email/"
    count = 0
    async with aiohttp.ClientSession(connector=connector, auto_decompress=True, headers=headers) as session:
        skip = 0
        while True:
            async with session.get(url, params={"_skip": skip, "_limit": page_size}) as response:
                response.raise_for_status()
                body = orjson.loads(await response.read())
            for item in body["data"]:
                read_dict_columns(item)
                count += 1
            if not body["has_more"] or not body["data"]:
                return count
            skip += len(body["data"])
            del body  # as closeasync does: not kept alive while the next page is parsed


def list_closeio(base_url: str, page_size: int) -> int:
    api = API(base_url + "/", api_key=API_KEY)
    api.session.trust_env = False  # loopback: never through a proxy from the environment
    count = skip = 0
    try:
        while True:
            body = api.get("activity/email", params={"_skip": skip, "_limit": page_size}, timeout=30)
            for item in body["data"]:
                read_dict_columns(item)
                count += 1
            if not body["has_more"] or not body["data"]:
                return count
            skip += len(body["data"])
            del body  # as closeasync does: not kept alive while the next page is parsed
    finally:
        api.session.close()


async def timed(run: Callable[[], Awaitable[int]], expected: int, *, gc_off: bool = False) -> float:
    gc.collect()
    if gc_off:
        gc.disable()
    try:
        started = time.perf_counter()
        async with asyncio.timeout(RUN_TIMEOUT):
            count = await run()
        elapsed = time.perf_counter() - started
    finally:
        gc.enable()
    if count != expected:
        raise RuntimeError(f"listed {count} emails, expected {expected}")
    return elapsed


async def measure(
    server: Server, args: argparse.Namespace
) -> tuple[list[list[str]], list[list[str]], list[str], dict[str, float]]:
    n, size = args.emails, args.page_size
    clients: dict[str, tuple[Callable[[], Awaitable[int]], bool]] = {
        "closeasync": (lambda: list_closeasync(server.base_url, size), False),
        "raw": (lambda: list_raw(server.base_url, size), False),
        "closeio": (lambda: asyncio.to_thread(list_closeio, server.base_url, size), False),
        "closeasync, every field": (lambda: list_closeasync(server.base_url, size, every_field=True), False),
    }
    if args.gc_info:  # in the same rotation, so that the ratios are paired too
        clients["closeasync (gc off)"] = clients["closeasync"][0], True
        clients["raw (gc off)"] = clients["raw"][0], True
    for run, _ in clients.values():  # warm up: connections, imports, generated hooks
        await timed(run, n)
    times: dict[str, list[float]] = {name: [] for name in clients}
    order = list(clients)
    for index in range(args.runs):
        shift = index % len(order)
        for name in order[shift:] + order[:shift]:
            run, gc_off = clients[name]
            times[name].append(await timed(run, n, gc_off=gc_off))

    def paired(a: str, b: str) -> float:  # the median over runs of time(a) / time(b)
        return median([ta / tb for ta, tb in zip(times[a], times[b], strict=True)])

    summary = {
        "typed/raw": paired("raw", "closeasync"),
        "typed time/closeio time": paired("closeasync", "closeio"),
    }
    if args.gc_info:
        summary["closeasync gc share"] = 1 - paired("closeasync (gc off)", "closeasync")
        summary["raw gc share"] = 1 - paired("raw (gc off)", "raw")
    rows = [["client", "median s", "emails/s", "runs (s)"]]
    for name in clients:
        med = median(times[name])
        rows.append([name, f"{med:.3f}", f"{n / med:,.0f}", " ".join(f"{t:.2f}" for t in times[name])])

    slow: dict[str, Callable[[], Awaitable[int]]] = {}
    for depth in args.prefetch:
        slow[f"closeasync prefetch={depth}, async with"] = functools.partial(
            list_closeasync_streamed, server.slow_url, size, depth
        )
        slow[f"closeasync prefetch={depth}, async for"] = functools.partial(
            list_closeasync, server.slow_url, size, depth
        )
    slow["closeio (sequential)"] = lambda: asyncio.to_thread(list_closeio, server.slow_url, size)
    slow_times: dict[str, list[float]] = {name: [] for name in slow}
    slow_order = list(slow)
    for index in range(args.latency_runs):
        shift = index % len(slow_order)
        for name in slow_order[shift:] + slow_order[:shift]:
            slow_times[name].append(await timed(slow[name], n))

    def speedup(name: str) -> float:  # throughput over closeio's, median of the paired runs
        pairs = zip(slow_times[name], slow_times["closeio (sequential)"], strict=True)
        return median([closeio / t for t, closeio in pairs])

    for name in slow:
        if name.startswith("closeasync"):
            summary[f"latency: {name}"] = speedup(name)
    summary["latency: typed/closeio throughput"] = max(
        speedup(name) for name in slow if name.endswith("async with")
    )
    slow_rows = [["client", "median s", "emails/s", "runs (s)"]]
    for name in slow:
        med = median(slow_times[name])
        slow_rows.append(
            [name, f"{med:.3f}", f"{n / med:,.0f}", " ".join(f"{t:.2f}" for t in slow_times[name])]
        )
    notes: list[str] = []
    return rows, slow_rows, notes, summary


TARGETS = (
    ("typed/raw", ">=", 0.45, "closeasync / raw aiohttp+orjson throughput (target >= 0.45, stretch 0.6)"),
    ("typed time/closeio time", "<=", 0.6, "closeasync time / closeio time (target <= 0.6)"),
    (
        "latency: typed/closeio throughput",
        ">=",
        10.0,
        "latency: closeasync (best async with) / closeio throughput (>= 10)",
    ),
)


def verdicts(summary: dict[str, float]) -> list[str]:
    lines = []
    for key, op, bound, text in TARGETS:
        value = summary[key]
        ok = value >= bound if op == ">=" else value <= bound
        lines.append(f"{text}: {value:.2f} ({'met' if ok else 'NOT met'})")
    lines += [
        f"{key[len('latency: ') :]} / closeio throughput with latency: {value:.2f}"
        for key, value in summary.items()
        if key.startswith("latency: closeasync")
    ]
    lines += [
        f"{key} (time the garbage collector adds, for information): {value:.0%}"
        for key, value in summary.items()
        if key.endswith("gc share")
    ]
    return lines


def rerun_command(args: argparse.Namespace) -> str:
    argv = [
        "python",
        "benchmarks/bench_list.py",
        f"--emails={args.emails}",
        f"--page-size={args.page_size}",
        f"--runs={args.runs}",
        f"--latency={args.latency:g}",
        f"--latency-runs={args.latency_runs}",
        "--prefetch",
        *(str(depth) for depth in args.prefetch),
    ]
    if not args.gc_info:
        argv.append("--no-gc-info")
    if args.server != DEFAULT_SERVER:
        argv.append(f"--server={args.server}")
    return shlex.join(argv)


async def main(args: argparse.Namespace) -> None:
    async with async_page_server(
        args.emails, page_size=args.page_size, latency=args.latency, server=args.server
    ) as server:
        rows, slow_rows, notes, summary = await measure(server, args)
    details = [
        f"Data: {args.emails:,} emails of {server.mean_bytes / 1024:.1f} KiB mean JSON, "
        f"pages of {args.page_size}, server in a child process ({args.server})",
        f"Paired runs: {args.runs} (medians); with latency: {args.latency * 1000:g} ms per page, "
        f"{args.latency_runs} runs",
        *notes,
    ]
    print("\n".join(details))
    print(table(rows, markdown=False))
    print(f"\nWith {args.latency * 1000:g} ms of server latency per page:")
    print(table(slow_rows, markdown=False))
    print("\n" + "\n".join(verdicts(summary)))
    if not args.no_write:
        body = [
            table(rows, markdown=True),
            "",
            f"With {args.latency * 1000:g} ms of server latency per page:",
            "",
            table(slow_rows, markdown=True),
            "",
            *(f"- {line}" for line in verdicts(summary)),
        ]
        append_results(f"Listing {args.emails:,} emails", rerun_command(args), details, body)
        print("Appended to benchmarks/RESULTS.md")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--emails", type=int, default=20_000, help="how many emails to list (20000)")
    parser.add_argument("--page-size", type=int, default=100, help="_limit per page (100)")
    parser.add_argument("--runs", type=int, default=5, help="paired runs (5)")
    parser.add_argument("--latency", type=float, default=0.05, help="server delay per page, seconds (0.05)")
    parser.add_argument("--latency-runs", type=int, default=3, help="paired runs with latency (3)")
    parser.add_argument(
        "--prefetch",
        type=int,
        nargs="+",
        default=[10, 20],
        help="closeasync's prefetch= values with latency (10 20)",
    )
    parser.add_argument(
        "--no-gc-info", dest="gc_info", action="store_false", help="skip the runs with gc off"
    )
    parser.add_argument(
        "--server", choices=SERVER_KINDS, default=DEFAULT_SERVER, help="page server (see _server.py)"
    )
    parser.add_argument("--no-write", action="store_true", help="print only; leave RESULTS.md alone")
    args = parser.parse_args(argv)
    if min(args.emails, args.page_size, args.runs, args.latency_runs, *args.prefetch) < 1 or args.latency < 0:
        parser.error("counts must be positive and --latency not negative")
    if args.emails > 200_000 or args.runs > 50:
        parser.error("keep it bounded: --emails <= 200000, --runs <= 50")
    return args


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
