"""Single GETs: closeasync vs raw aiohttp + orjson at concurrency 1 and 50, and vs ``closeio``.

A child process serves one precomputed ~6 KiB email at ``GET /activity/email/{id}/`` on
127.0.0.1 (see ``_common.py``). Each paired run makes ``--calls`` GETs with each of:

- closeasync: ``await close.emails.get(id)`` (typed), from 1 task and from 50 tasks;
- raw: the same aiohttp session settings as closeasync's transport (``TCPConnector(limit=100)``,
  ``auto_decompress=True``, the same headers), ``orjson.loads`` of the body, 1 and 50 tasks;
- closeio: ``API(...).get("activity/email/{id}")`` sequentially, in a worker thread.

Reported: median calls per second of each, and the medians of the per-run ratios.

    python benchmarks/bench_get.py --calls 2000 --runs 5

Every loop is bounded by its call count, and every run by a time limit.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import shlex
import time
from collections.abc import Awaitable, Callable, Sequence

import aiohttp
import orjson
from _common import API_KEY, DEFAULT_SERVER, SERVER_KINDS, append_results, async_page_server, median, table
from closeio_api import API

from closeasync import CloseAsync

EMAIL_ID = "acti_bench"
RUN_TIMEOUT = 120.0


async def in_tasks(call: Callable[[], Awaitable[object]], calls: int, concurrency: int) -> None:
    left = calls

    async def worker() -> None:
        nonlocal left
        while left > 0:
            left -= 1
            await call()

    async with asyncio.TaskGroup() as group:
        for _ in range(concurrency):
            group.create_task(worker())


async def get_closeasync(base_url: str, calls: int, concurrency: int) -> float:
    async with CloseAsync(api_key=API_KEY, base_url=base_url) as close:
        await close.emails.get(EMAIL_ID)  # connect outside the timing loop, as raw does

        async def call() -> None:
            email = await close.emails.get(EMAIL_ID)
            assert email.id

        started = time.perf_counter()
        await in_tasks(call, calls, concurrency)
        return time.perf_counter() - started


async def get_raw(base_url: str, calls: int, concurrency: int) -> float:
    connector = aiohttp.TCPConnector(limit=100)
    headers = {"Authorization": aiohttp.encode_basic_auth(API_KEY, ""), "Accept": "application/json"}
    url = f"{base_url}/activity/email/{EMAIL_ID}/"
    async with aiohttp.ClientSession(connector=connector, auto_decompress=True, headers=headers) as session:

        async def call() -> None:
            async with session.get(url) as response:
                response.raise_for_status()
                email = orjson.loads(await response.read())
            assert email["id"]

        await call()
        started = time.perf_counter()
        await in_tasks(call, calls, concurrency)
        return time.perf_counter() - started


def get_closeio(base_url: str, calls: int) -> float:
    api = API(base_url + "/", api_key=API_KEY)
    api.session.trust_env = False  # loopback: never through a proxy from the environment
    try:
        api.get(f"activity/email/{EMAIL_ID}", timeout=30)
        started = time.perf_counter()
        for _ in range(calls):
            email = api.get(f"activity/email/{EMAIL_ID}", timeout=30)
            assert email["id"]
        return time.perf_counter() - started
    finally:
        api.session.close()


async def timed(run: Callable[[], Awaitable[float]]) -> float:
    """The time of the run's measured loop (connection set-up excluded)."""
    gc.collect()
    async with asyncio.timeout(RUN_TIMEOUT):
        return await run()


async def measure(base_url: str, args: argparse.Namespace) -> tuple[list[list[str]], dict[str, float]]:
    n = args.calls
    clients: dict[str, Callable[[], Awaitable[float]]] = {
        "closeasync c=1": lambda: get_closeasync(base_url, n, 1),
        "raw aiohttp c=1": lambda: get_raw(base_url, n, 1),
        "closeasync c=50": lambda: get_closeasync(base_url, n, 50),
        "raw aiohttp c=50": lambda: get_raw(base_url, n, 50),
        "closeio (sequential)": lambda: asyncio.to_thread(get_closeio, base_url, n),
    }
    for run in clients.values():  # warm up
        await timed(run)
    times: dict[str, list[float]] = {name: [] for name in clients}
    order = list(clients)
    for index in range(args.runs):
        shift = index % len(order)
        for name in order[shift:] + order[:shift]:
            times[name].append(await timed(clients[name]))

    def ratio(a: str, b: str) -> float:  # throughput of a over b, median of the paired runs
        return median([tb / ta for ta, tb in zip(times[a], times[b], strict=True)])

    summary = {
        "c=1: closeasync/raw": ratio("closeasync c=1", "raw aiohttp c=1"),
        "c=50: closeasync/raw": ratio("closeasync c=50", "raw aiohttp c=50"),
        "closeasync c=1/closeio": ratio("closeasync c=1", "closeio (sequential)"),
        "closeasync c=50/closeio": ratio("closeasync c=50", "closeio (sequential)"),
    }
    rows = [["client", "median s", "calls/s", "runs (s)"]]
    for name in clients:
        med = median(times[name])
        rows.append([name, f"{med:.3f}", f"{n / med:,.0f}", " ".join(f"{t:.2f}" for t in times[name])])
    return rows, summary


def verdicts(summary: dict[str, float]) -> list[str]:
    lines = [f"{key} throughput: {value:.2f}" for key, value in summary.items()]
    met = summary["c=1: closeasync/raw"] >= 0.85
    lines[0] += f" (target >= 0.85: {'met' if met else 'NOT met'})"
    return lines


async def main(args: argparse.Namespace) -> None:
    async with async_page_server(args.emails, server=args.server) as server:
        rows, summary = await measure(server.base_url, args)
    details = [
        f"One email of {server.one_bytes / 1024:.1f} KiB JSON; "
        f"{args.calls} GETs per client per run, {args.runs} paired runs (medians), "
        f"server in a child process ({args.server})"
    ]
    print(details[0])
    print(table(rows, markdown=False))
    print("\n".join(verdicts(summary)))
    if not args.no_write:
        argv = ["python", "benchmarks/bench_get.py", f"--calls={args.calls}", f"--runs={args.runs}"]
        if args.server != DEFAULT_SERVER:
            argv.append(f"--server={args.server}")
        command = shlex.join(argv)
        body = [table(rows, markdown=True), "", *(f"- {line}" for line in verdicts(summary))]
        append_results("Single GET", command, details, body)
        print("Appended to benchmarks/RESULTS.md")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--calls", type=int, default=2000, help="GETs per client per run (2000)")
    parser.add_argument("--runs", type=int, default=5, help="paired runs (5)")
    parser.add_argument(
        "--server", choices=SERVER_KINDS, default=DEFAULT_SERVER, help="page server (see _server.py)"
    )
    parser.add_argument("--no-write", action="store_true", help="print only; leave RESULTS.md alone")
    args = parser.parse_args(argv)
    if not 1 <= args.calls <= 100_000 or not 1 <= args.runs <= 50:
        parser.error("--calls must be 1..100000 and --runs 1..50")
    args.emails = 100  # the server needs only a few to pick a typical one from
    return args


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
