"""Goodput under a rate limit: closeasync against the official ``closeio`` client.

The fake Close is served on 127.0.0.1 with a limit of R requests per second on the
``GET /activity/email/{id}/`` group (``budget = R * window`` per ``window`` seconds, with
the documented ``RateLimit: limit=.., remaining=.., reset=..`` header). Then, one after
the other against the same limit:

- closeasync: one client, N concurrent tasks issuing GETs for T seconds (default policy
  and pacing);
- closeio: sequential GETs for T seconds in a worker thread. It sleeps on a 429 itself,
  reading ``reset`` with ``reset=(\\d+)``, so a fractional reset below 1 s is slept as 0
  and it asks again at once (up to ``max_retries=5`` times, then raises).

For each: calls that returned, calls that failed, requests the server saw, how many were
429s, and the achieved rate as a fraction of R.

Then two scenarios of issue #20 (``_ratelimit_scenarios.py``), each against the behaviour
before it in the same process: a **cold start** (``--cold-tasks`` GETs at once from a new
client against ``--cold-rate`` per ``--cold-window`` s: share of 429s and time to finish,
with slow start and with every request at once), and a **budget no longer announced**
(a ``--storm`` s storm of 429s announcing ``limit=--storm-limit``, then answers without
any ``RateLimit``, during a listing of ``--pages`` pages: time to finish with the learnt
budget lapsing, kept, and with a storm that sends only ``Retry-After``).

Results are printed and appended to ``benchmarks/RESULTS.md`` with the machine, the
versions and the command to rerun (``--scenarios`` picks some)::

    python benchmarks/bench_ratelimit.py --rate 200 --window 0.1 --seconds 5 --concurrency 20

Every loop is bounded in time and in count; nothing leaves the loopback interface.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import shlex
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

import aiohttp
import attrs
from _common import append_results, cpu_model, table
from _ratelimit_scenarios import HEADER as SCENARIO_HEADER
from _ratelimit_scenarios import ScenarioRun, StormFake, cold_start, storm_listing
from closeio_api import API, APIError

from closeasync import CloseAsync, CloseError
from closeasync.fake.app import serve

GROUP = "GET /activity/email/{id}/"
RESULTS = Path(__file__).with_name("RESULTS.md")
#: Extra time a run may take past its T seconds (the last requests finishing) before it fails.
GRACE = 30.0


#: The fake counts every request it answers (thread-safe: closeio is in a thread).
CountingFake = StormFake
SCENARIOS = ("goodput", "cold-start", "lapse")


@attrs.frozen
class Run:
    """What one client achieved against the limit."""

    client: str
    concurrency: int
    ok: int
    failed: int
    requests: int
    rejected: int
    seconds: float

    def row(self, rate: float) -> list[str]:
        achieved = self.ok / self.seconds if self.seconds else 0.0
        share = self.rejected / self.requests if self.requests else 0.0
        return [
            self.client,
            str(self.concurrency),
            str(self.ok),
            str(self.failed),
            str(self.requests),
            str(self.rejected),
            f"{share:.1%}",
            f"{achieved:.1f}",
            f"{achieved / rate:.2f}",
        ]


HEADER = ["client", "tasks", "calls ok", "failed", "requests", "429s", "429 share", "ok/s", "of R"]


async def run_closeasync(
    fake: CountingFake, base_url: str, email: str, *, concurrency: int, seconds: float, max_calls: int
) -> Run:
    """N tasks of one client issue GETs until the time or the call budget runs out."""
    counts = {"ok": 0, "failed": 0, "started": 0}
    received, rejected = fake.received, fake.rate_limits.rejected
    async with CloseAsync(api_key=fake.api_key, base_url=base_url) as close:
        started = time.perf_counter()
        deadline = started + seconds

        async def worker() -> None:
            while time.perf_counter() < deadline and counts["started"] < max_calls:
                counts["started"] += 1
                try:
                    await close.emails.get(email)
                    counts["ok"] += 1
                except CloseError:
                    counts["failed"] += 1

        async with asyncio.timeout(seconds + GRACE), asyncio.TaskGroup() as group:
            for _ in range(concurrency):
                group.create_task(worker())
        elapsed = time.perf_counter() - started
    return Run(
        "closeasync",
        concurrency,
        counts["ok"],
        counts["failed"],
        fake.received - received,
        fake.rate_limits.rejected - rejected,
        elapsed,
    )


def closeio_loop(
    base_url: str, api_key: str, email: str, *, seconds: float, max_calls: int
) -> tuple[int, int, float]:
    """Sequential closeio GETs until the time or the call budget runs out: (ok, failed, seconds)."""
    api = API(base_url + "/", api_key=api_key, max_retries=5)
    api.session.trust_env = False  # loopback: never through a proxy from the environment
    ok = failed = 0
    try:
        started = time.perf_counter()
        deadline = started + seconds
        for _ in range(max_calls):
            if time.perf_counter() >= deadline:
                break
            try:
                api.get(f"activity/email/{email}", timeout=5)
                ok += 1
            except APIError:  # closeio gave up (after max_retries 429s in a row)
                failed += 1
        return ok, failed, time.perf_counter() - started
    finally:
        api.session.close()


async def run_closeio(
    fake: CountingFake, base_url: str, email: str, *, seconds: float, max_calls: int
) -> Run:
    received, rejected = fake.received, fake.rate_limits.rejected
    async with asyncio.timeout(seconds + GRACE):
        ok, failed, elapsed = await asyncio.to_thread(
            closeio_loop, base_url, fake.api_key, email, seconds=seconds, max_calls=max_calls
        )
    return Run(
        "closeio (sequential)",
        1,
        ok,
        failed,
        fake.received - received,
        fake.rate_limits.rejected - rejected,
        elapsed,
    )


def rerun_command(args: argparse.Namespace) -> str:
    """The command that repeats this run, every setting spelled out."""
    settings = {
        "--rate": f"{args.rate:g}",
        "--window": f"{args.window:g}",
        "--seconds": f"{args.seconds:g}",
        "--concurrency": str(args.concurrency),
        "--max-calls": str(args.max_calls),
        "--separator": args.separator,
        "--cold-tasks": str(args.cold_tasks),
        "--cold-rate": f"{args.cold_rate:g}",
        "--cold-window": f"{args.cold_window:g}",
        "--storm": f"{args.storm:g}",
        "--storm-limit": str(args.storm_limit),
        "--pages": str(args.pages),
    }
    return shlex.join(
        [
            "python",
            "benchmarks/bench_ratelimit.py",
            *(x for kv in settings.items() for x in kv),
            "--scenarios",
            *args.scenarios,
        ]
    )


def write_results(args: argparse.Namespace, limit: str, runs: Sequence[Run], rate: float) -> None:
    command = rerun_command(args)
    section = [
        f"## Goodput under a rate limit ({datetime.now(UTC):%Y-%m-%d %H:%M} UTC)",
        "",
        f"- Machine: {platform.platform()}, {cpu_model()}, {os.cpu_count()} CPUs",
        f"- Versions: Python {platform.python_version()}, aiohttp {aiohttp.__version__}, "
        f"closeasync {version('closeasync')}, closeio {version('closeio')}",
        f"- Limit: {limit}",
        f"- Command: `{command}`",
        "",
        table([HEADER, *(run.row(rate) for run in runs)], markdown=True),
        "",
        "`of R` is the calls that returned per second over the limit's R; `429 share` is among "
        "all requests the server saw (closeio's own retries included).",
        "",
    ]
    existing = (
        RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n\nNewest last; see README.md.\n"
    )
    RESULTS.write_text(existing.rstrip("\n") + "\n\n" + "\n".join(section))


async def goodput(args: argparse.Namespace, fake: CountingFake, base_url: str, email: str) -> None:
    budget = max(1, round(args.rate * args.window))
    rate = budget / args.window  # what the fake enforces, after rounding the budget
    fake.rate_limits.set(GROUP, budget=budget, window=args.window, separator=args.separator)
    limit = (
        f"{budget} requests per {args.window:g} s on {GROUP} (R = {rate:g}/s), "
        f"RateLimit header with {args.separator!r}"
    )
    runs = [
        await run_closeasync(
            fake,
            base_url,
            email,
            concurrency=args.concurrency,
            seconds=args.seconds,
            max_calls=args.max_calls,
        )
    ]
    await asyncio.sleep(2 * args.window)  # let the limit's window run out between clients
    runs.append(await run_closeio(fake, base_url, email, seconds=args.seconds, max_calls=args.max_calls))
    fake.rate_limits.clear()
    print(f"Limit: {limit}; {args.seconds:g} s per client")
    print(table([HEADER, *(run.row(rate) for run in runs)], markdown=False))
    if not args.no_write:
        write_results(args, limit, runs, rate)


async def issue_20(args: argparse.Namespace, fake: CountingFake, base_url: str, email: str) -> None:
    """The cold start and the budget no longer announced, each now and as before."""
    runs: list[ScenarioRun] = []
    if "cold-start" in args.scenarios:
        budget = max(1, round(args.cold_rate * args.cold_window))
        for slow_start in (True, False):
            runs.append(
                await cold_start(
                    fake,
                    base_url,
                    email,
                    tasks=args.cold_tasks,
                    budget=budget,
                    window=args.cold_window,
                    slow_start=slow_start,
                )
            )
            await asyncio.sleep(2 * args.cold_window)  # the fake's window runs out
        fake.rate_limits.clear()
    if "lapse" in args.scenarios:
        fake.storm_limit = args.storm_limit
        for header, lapse in ((True, True), (True, False), (False, True)):
            runs.append(
                await storm_listing(
                    fake, base_url, pages=args.pages, storm=args.storm, header=header, lapse=lapse
                )
            )
    if not runs:
        return
    print(table([SCENARIO_HEADER, *(run.row() for run in runs)], markdown=False))
    if not args.no_write:
        append_results(
            "Rate limits: a cold start, and a budget no longer announced (#20)",
            rerun_command(args),
            ["Server: the fake served on 127.0.0.1 (aiohttp.web), real time"],
            [
                table([SCENARIO_HEADER, *(run.row() for run in runs)], markdown=True),
                "",
                "`429 share` is among all requests the server saw. `reference s`: for the cold start, "
                "ideal pacing (the last request going at the start of the last window it needs); for "
                'the storm, its length (nothing can finish sooner). "before" runs the same client '
                "with the old behaviour switched back on in this process (a pacer without slow start; "
                "`GroupPacer.silent` as a no-op).",
            ],
        )


async def main(args: argparse.Namespace) -> None:
    fake = CountingFake(seed=1)
    lead = fake.add_lead("Bench")["id"]
    email = fake.add_activity("Email", lead_id=lead, status="draft", subject="Benchmark")["id"]
    if "lapse" in args.scenarios:
        for index in range(args.pages - 1):  # a listing of exactly --pages pages of one email
            fake.add_activity("Email", lead_id=lead, status="draft", subject=f"Page {index}")
    async with serve(fake, host="127.0.0.1") as server:
        if "goodput" in args.scenarios:
            await goodput(args, fake, server.base_url, email)
        await issue_20(args, fake, server.base_url, email)
    if not args.no_write:
        print(f"Appended to {RESULTS}")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--rate", type=float, default=200.0, help="R: requests per second allowed (200)")
    parser.add_argument("--window", type=float, default=0.1, help="the limit's window in seconds (0.1)")
    parser.add_argument("--seconds", type=float, default=5.0, help="how long each client runs (5)")
    parser.add_argument("--concurrency", type=int, default=20, help="closeasync's concurrent tasks (20)")
    parser.add_argument("--max-calls", type=int, default=100_000, help="a cap on each client's calls")
    parser.add_argument("--separator", choices=[",", ";"], default=",", help="RateLimit header form")
    parser.add_argument("--cold-tasks", type=int, default=60, help="cold start: GETs at once (60)")
    parser.add_argument("--cold-rate", type=float, default=10.0, help="cold start: requests per second (10)")
    parser.add_argument("--cold-window", type=float, default=1.0, help="cold start: the window in s (1)")
    parser.add_argument("--storm", type=float, default=2.0, help="lapse: seconds of 429s (2)")
    parser.add_argument("--storm-limit", type=int, default=50, help="lapse: the limit the 429s announce (50)")
    parser.add_argument("--pages", type=int, default=400, help="lapse: pages of the listing (400)")
    parser.add_argument(
        "--scenarios", nargs="+", choices=SCENARIOS, default=list(SCENARIOS), help="which to run (all)"
    )
    parser.add_argument("--no-write", action="store_true", help="print only; leave RESULTS.md alone")
    args = parser.parse_args(argv)
    if args.rate <= 0 or args.window <= 0 or args.seconds <= 0 or args.concurrency < 1 or args.max_calls < 1:
        parser.error("--rate, --window, --seconds, --concurrency and --max-calls must be positive")
    if min(args.cold_tasks, args.storm_limit, args.pages) < 1 or min(args.cold_rate, args.cold_window) <= 0:
        parser.error("--cold-tasks, --cold-rate, --cold-window, --storm-limit and --pages must be positive")
    if args.storm < 0:
        parser.error("--storm is 0 or more")
    return args


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
