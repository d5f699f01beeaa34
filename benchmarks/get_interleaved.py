"""Single GET at concurrency 1, closeasync against raw aiohttp, interleaved in one process.

Not a ``bench_*.py`` (``nox -s bench`` does not run it): a measuring tool for the request
path. ``bench_get.py`` runs each client for seconds at a time, so the VM's drift between
runs lands in the ratio; here blocks of ``--block`` calls of each variant alternate
``--rounds`` times in one process against the same page server (a child process, see
``_common.py``), and the median per-call time of each variant's blocks is reported, with
the median of the per-round ratios. Then, once per variant, it counts what one call costs
the event loop: iterations of the loop (``_run_once``), callbacks scheduled
(``call_soon``) and timers (``call_at``).

    PYTHONPATH=. python benchmarks/get_interleaved.py --rounds 40 --block 50

``--variants`` picks among: ``closeasync`` (``await close.emails.get(id)``), ``raw``
(aiohttp + orjson as in ``bench_get.py``), ``sdk-transport`` (the SDK's own
``AiohttpTransport.send`` of the same request, no pipeline, no decoding),
``sdk-raw`` (``CloseAsync._call``: the pipeline and ``orjson.loads``, no model) and
``sdk-structured`` (``Requester.exchange`` and the model, without the resource method).

Wall-clock time on a small VM drifts by tens of percent; CPU instructions do not.
``--just N`` only makes N calls of the first variant (after a warm-up block), for a
count under cachegrind: the difference between N and 2N calls, divided by N, is the
variant's instructions per call, repeatable to ~1k::

    PYTHONPATH=. valgrind --tool=cachegrind --cache-sim=no --cachegrind-out-file=/dev/null \
        python benchmarks/get_interleaved.py --variants closeasync --just 200
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import orjson
from _common import API_KEY, async_page_server, median

from closeasync import CloseAsync
from closeasync.pipeline.routes import ROUTES
from closeasync.pipeline.wire import build_request

EMAIL_ID = "acti_bench"
Call = Callable[[], Awaitable[object]]


class LoopCounter:
    """Counts loop iterations, ``call_soon`` and ``call_at`` while ``on`` is true."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.on = False
        self.counts = {"iterations": 0, "call_soon": 0, "call_at": 0}
        run_once = loop._run_once  # type: ignore[attr-defined]
        call_soon, call_at = loop.call_soon, loop.call_at

        def counted_run_once() -> None:
            if self.on:
                self.counts["iterations"] += 1
            run_once()

        def counted_call_soon(*args: Any, **kwargs: Any) -> Any:
            if self.on:
                self.counts["call_soon"] += 1
            return call_soon(*args, **kwargs)

        def counted_call_at(*args: Any, **kwargs: Any) -> Any:
            if self.on:
                self.counts["call_at"] += 1
            return call_at(*args, **kwargs)

        loop._run_once = counted_run_once  # type: ignore[attr-defined]
        loop.call_soon = counted_call_soon  # type: ignore[method-assign]
        loop.call_at = counted_call_at  # type: ignore[method-assign]

    async def per_call(self, call: Call, calls: int) -> dict[str, float]:
        for key in self.counts:
            self.counts[key] = 0
        self.on = True
        try:
            for _ in range(calls):
                await call()
        finally:
            self.on = False
        return {key: value / calls for key, value in self.counts.items()}


async def variants(base_url: str, stack: Any) -> dict[str, Call]:
    close = await stack.enter_async_context(CloseAsync(api_key=API_KEY, base_url=base_url))
    headers = {"Authorization": aiohttp.encode_basic_auth(API_KEY, ""), "Accept": "application/json"}
    session = await stack.enter_async_context(
        aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=100), auto_decompress=True, headers=headers
        )
    )
    url = f"{base_url}/activity/email/{EMAIL_ID}/"
    route = ROUTES["email"]["get"]
    request = build_request(
        route,
        base_url=base_url,
        path_params={"id": EMAIL_ID},
        headers=close._connection.headers,
        timeout=close.timeout,
    )

    async def closeasync_get() -> None:
        email = await close.emails.get(EMAIL_ID)
        assert email.id

    async def raw_get() -> None:
        async with session.get(url) as response:
            response.raise_for_status()
            email = orjson.loads(await response.read())
        assert email["id"]

    async def sdk_transport() -> None:
        response = await close.transport.send(request)
        assert orjson.loads(response.content)["id"]

    async def sdk_raw() -> None:
        data = await close._requester.call(route, path_params={"id": EMAIL_ID})
        assert data["id"]

    structurer = close.emails._structurer

    async def sdk_structured() -> None:
        data, response = await close._requester.exchange(route, path_params={"id": EMAIL_ID})
        assert structurer.one(data, response).id

    return {
        "closeasync": closeasync_get,
        "raw": raw_get,
        "sdk-transport": sdk_transport,
        "sdk-raw": sdk_raw,
        "sdk-structured": sdk_structured,
    }


async def main(args: argparse.Namespace) -> None:
    import contextlib

    async with async_page_server(10, server=args.server) as server, contextlib.AsyncExitStack() as stack:
        every = await variants(server.base_url, stack)
        chosen = {name: every[name] for name in args.variants}
        for call in chosen.values():  # connect and warm up
            for _ in range(args.block):
                await call()
        if args.just is not None:
            call = chosen[args.variants[0]]
            for _ in range(args.just):
                await call()
            return
        per_call: dict[str, list[float]] = {name: [] for name in chosen}
        order = list(chosen)
        gc.collect()
        if args.gc_off:
            gc.disable()
        for index in range(args.rounds):
            shift = index % len(order)
            for name in order[shift:] + order[:shift]:
                call = chosen[name]
                started = time.perf_counter()
                for _ in range(args.block):
                    await call()
                per_call[name].append((time.perf_counter() - started) / args.block * 1e6)
        counter = LoopCounter(asyncio.get_running_loop())
        loop_costs = {name: await counter.per_call(call, args.block) for name, call in chosen.items()}

    base = per_call.get("raw")
    print(f"{args.rounds} rounds of {args.block} calls per variant; median us/call (per-round ratio to raw)")
    for name, times in per_call.items():
        ratio = ""
        if base is not None and name != "raw":
            ratio = f"  raw/this {median([b / t for b, t in zip(base, times, strict=True)]):.3f}"
        costs = "  ".join(f"{key} {value:.2f}" for key, value in loop_costs[name].items())
        print(f"{name:14} {median(times):7.1f} us{ratio:24}  per call: {costs}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--block", type=int, default=50)
    parser.add_argument("--server", default="protocol")
    parser.add_argument("--gc-off", action="store_true", help="time with the garbage collector off")
    parser.add_argument(
        "--just", type=int, metavar="N", help="only make N calls of the first variant (for cachegrind)"
    )
    parser.add_argument(
        "--variants",
        nargs="+",
        default=["closeasync", "raw", "sdk-transport", "sdk-raw"],
        choices=["closeasync", "raw", "sdk-transport", "sdk-raw", "sdk-structured"],
    )
    asyncio.run(main(parser.parse_args()))
