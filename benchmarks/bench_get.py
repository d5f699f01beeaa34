"""Single GETs: closeasync vs raw aiohttp + orjson at concurrency 1 and 50, and vs ``closeio``.

A child process serves one precomputed ~6 KiB email at ``GET /activity/email/{id}/`` on
127.0.0.1 (see ``_common.py``). Each paired run makes ``--calls`` GETs with each of:

- closeasync: ``await close.emails.get(id)`` (typed), from 1 task and from 50 tasks;
- raw: the same aiohttp session settings as closeasync's transport (``TCPConnector(limit=100)``,
  ``auto_decompress=True``, the same headers), ``orjson.loads`` of the body, 1 and 50 tasks;
- closeio: ``API(...).get("activity/email/{id}")`` sequentially, in a worker thread.

Reported: median calls per second of each, and the medians of the per-run ratios.

At concurrency 1 the two clients of a pair run side by side: blocks of ``--block`` calls
of each alternate until both made ``--calls``, and the run's ratio is of their summed
times. Run one after the other, a pair of ~1 s runs picked up this VM's drift between
them: per-pair ratios spread from 0.59 to 1.05 in one run of nine pairs, enough to move
the median by +-0.04. Alternating blocks expose both clients to the same moments.

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


def closeasync_get(close: CloseAsync) -> Callable[[], Awaitable[None]]:
    async def call() -> None:
        email = await close.emails.get(EMAIL_ID)
        assert email.id

    return call


async def get_closeasync(base_url: str, calls: int, concurrency: int) -> float:
    async with CloseAsync(api_key=API_KEY, base_url=base_url) as close:
        call = closeasync_get(close)
        await call()  # connect outside the timing loop, as raw does
        started = time.perf_counter()
        await in_tasks(call, calls, concurrency)
        return time.perf_counter() - started


def raw_session() -> aiohttp.ClientSession:
    """The raw baseline's session: closeasync's transport settings, the same headers."""
    headers = {"Authorization": aiohttp.encode_basic_auth(API_KEY, ""), "Accept": "application/json"}
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=100), auto_decompress=True, headers=headers
    )


def raw_get(session: aiohttp.ClientSession, base_url: str) -> Callable[[], Awaitable[None]]:
    url = f"{base_url}/activity/email/{EMAIL_ID}/"

    async def call() -> None:
        async with session.get(url) as response:
            response.raise_for_status()
            email = orjson.loads(await response.read())
        assert email["id"]

    return call


async def get_raw(base_url: str, calls: int, concurrency: int) -> float:
    async with raw_session() as session:
        call = raw_get(session, base_url)
        await call()
        started = time.perf_counter()
        await in_tasks(call, calls, concurrency)
        return time.perf_counter() - started


async def get_pair_c1(base_url: str, calls: int, block: int) -> tuple[float, float]:
    """closeasync and raw at concurrency 1, in alternating blocks: (closeasync s, raw s)."""
    async with CloseAsync(api_key=API_KEY, base_url=base_url) as close, raw_session() as session:
        calls_of = {"closeasync": closeasync_get(close), "raw": raw_get(session, base_url)}
        spent = dict.fromkeys(calls_of, 0.0)
        for call in calls_of.values():
            await call()  # connect outside the timing
        for first in range(0, calls, block):
            size = min(block, calls - first)
            order = list(calls_of) if (first // block) % 2 == 0 else list(reversed(calls_of))
            for name in order:
                call = calls_of[name]
                started = time.perf_counter()
                for _ in range(size):
                    await call()
                spent[name] += time.perf_counter() - started
        return spent["closeasync"], spent["raw"]


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


async def timed_pair(run: Callable[[], Awaitable[tuple[float, float]]]) -> tuple[float, float]:
    """:func:`timed` for the c=1 pair."""
    gc.collect()
    async with asyncio.timeout(2 * RUN_TIMEOUT):
        return await run()


async def measure(base_url: str, args: argparse.Namespace) -> tuple[list[list[str]], dict[str, float]]:
    n = args.calls
    pair = ("closeasync c=1", "raw aiohttp c=1")  # measured together, see the module docs
    clients: dict[str, Callable[[], Awaitable[float]]] = {
        "closeasync c=50": lambda: get_closeasync(base_url, n, 50),
        "raw aiohttp c=50": lambda: get_raw(base_url, n, 50),
        "closeio (sequential)": lambda: asyncio.to_thread(get_closeio, base_url, n),
    }
    for run in clients.values():  # warm up
        await timed(run)
    await timed_pair(lambda: get_pair_c1(base_url, n, args.block))
    times: dict[str, list[float]] = {name: [] for name in (*pair, *clients)}
    order = [None, *clients]  # None: the c=1 pair
    for index in range(args.runs):
        shift = index % len(order)
        for name in order[shift:] + order[:shift]:
            if name is None:
                closeasync_s, raw_s = await timed_pair(lambda: get_pair_c1(base_url, n, args.block))
                times[pair[0]].append(closeasync_s)
                times[pair[1]].append(raw_s)
            else:
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
    for name in times:
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
        f"c=1 in alternating blocks of {args.block}, server in a child process ({args.server})"
    ]
    print(details[0])
    print(table(rows, markdown=False))
    print("\n".join(verdicts(summary)))
    if not args.no_write:
        argv = [
            "python",
            "benchmarks/bench_get.py",
            f"--calls={args.calls}",
            f"--runs={args.runs}",
            f"--block={args.block}",
        ]
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
    parser.add_argument("--block", type=int, default=50, help="calls per alternating block at c=1 (50)")
    parser.add_argument(
        "--server", choices=SERVER_KINDS, default=DEFAULT_SERVER, help="page server (see _server.py)"
    )
    parser.add_argument("--no-write", action="store_true", help="print only; leave RESULTS.md alone")
    args = parser.parse_args(argv)
    if not 1 <= args.calls <= 100_000 or not 1 <= args.runs <= 50 or not 1 <= args.block <= args.calls:
        parser.error("--calls must be 1..100000, --runs 1..50 and --block 1..calls")
    args.emails = 100  # the server needs only a few to pick a typical one from
    return args


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
