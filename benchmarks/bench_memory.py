"""Peak memory: streaming 20,000 emails vs collecting them, each in a fresh process.

A child process serves precomputed pages of ~6 KiB realistic emails on 127.0.0.1 (see
``_common.py``). Each variant then runs in its own fresh Python process, which reports
its peak resident set size (``VmHWM`` from ``/proc/self/status``, else ``ru_maxrss``):

- baseline: imports closeasync, starts the event loop, opens a client and GETs one
  email (what every variant does before listing), then stops;
- stream: ``async for email in close.emails.list(page_size=100)``, keeping nothing;
- stream, prefetch, async for: the same over ``list(prefetch=N)`` (windows of N pages);
- stream, prefetch, async with: ``async with list(prefetch=N) as emails`` (N in flight);
- collect: ``await close.emails.list(page_size=100).collect()``, keeping every model;
- raw stream: aiohttp + orjson, one page of dicts at a time (for reference).

Reported: each variant's peak in MiB above the baseline (median of ``--runs`` processes).
The target is streaming within 10 MiB of the baseline.

    python benchmarks/bench_memory.py --emails 20000 --runs 3

Every child is bounded by a time limit.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import shlex
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from _common import API_KEY, append_results, median, page_server, table

CHILD_TIMEOUT = 120.0
TARGET_MIB = 10.0


def peak_rss_kib() -> int:
    """This process's peak resident set size in KiB."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)  # KiB on Linux


async def child(variant: str, base_url: str, page_size: int, prefetch: int) -> int:
    """Run one variant; return how many emails it listed."""
    import aiohttp
    import orjson

    from closeasync import CloseAsync

    if variant == "raw stream":
        headers = {"Authorization": aiohttp.encode_basic_auth(API_KEY, "")}
        count = skip = 0
        async with aiohttp.ClientSession(headers=headers) as session:
            while True:
                async with session.get(
                    f"{base_url}/activity/email/", params={"_skip": skip, "_limit": page_size}
                ) as response:
                    body = orjson.loads(await response.read())
                for _item in body["data"]:
                    count += 1
                if not body["has_more"] or not body["data"]:
                    return count
                skip += len(body["data"])
    async with CloseAsync(api_key=API_KEY, base_url=base_url) as close:
        await close.emails.get("acti_bench")
        if variant == "baseline":
            return 0
        if variant == "collect":
            return len(await close.emails.list(page_size=page_size).collect())
        count = 0
        if variant == "stream, prefetch, async with":
            async with close.emails.list(page_size=page_size, prefetch=prefetch) as emails:
                async for _email in emails:
                    count += 1
            return count
        listing = close.emails.list(page_size=page_size, prefetch=prefetch if "prefetch" in variant else 0)
        async for _email in listing:
            count += 1
        return count


def run_child(variant: str, base_url: str, page_size: int, prefetch: int) -> tuple[int, int]:
    """Run a variant in a fresh interpreter: (peak KiB, emails listed)."""
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--child",
        variant,
        f"--url={base_url}",
        f"--page-size={page_size}",
        f"--prefetch={prefetch}",
    ]
    out = subprocess.run(command, capture_output=True, text=True, timeout=CHILD_TIMEOUT, check=True)
    peak, count = out.stdout.split()
    return int(peak), int(count)


def measure(args: argparse.Namespace) -> tuple[list[list[str]], dict[str, float], list[str]]:
    n = args.prefetch
    variants = {
        "baseline": "baseline",
        "stream": "stream",
        f"stream, prefetch={n}, async for": "stream, prefetch",
        f"stream, prefetch={n}, async with": "stream, prefetch, async with",
        "collect": "collect",
        "raw stream": "raw stream",
    }
    notes: list[str] = []
    peaks: dict[str, list[int]] = {v: [] for v in variants}
    with page_server(args.emails, page_size=args.page_size) as server:
        for _ in range(args.runs):
            for variant, name in variants.items():
                peak, count = run_child(name, server.base_url, args.page_size, args.prefetch)
                expected = 0 if variant == "baseline" else args.emails
                if count != expected:
                    raise RuntimeError(f"{variant}: listed {count} emails, expected {expected}")
                peaks[variant].append(peak)
    base = median(peaks["baseline"]) / 1024
    rows = [["variant", "peak MiB", "above baseline MiB", "runs (MiB)"]]
    above = {}
    for variant in variants:
        mib = median(peaks[variant]) / 1024
        above[variant] = mib - base
        rows.append(
            [
                variant,
                f"{mib:.1f}",
                "-" if variant == "baseline" else f"{mib - base:.1f}",
                " ".join(f"{p / 1024:.1f}" for p in peaks[variant]),
            ]
        )
    return rows, above, notes


def verdicts(above: dict[str, float]) -> list[str]:
    met = above["stream"] <= TARGET_MIB
    lines = [
        f"streaming: {above['stream']:.1f} MiB above baseline (target <= 10: {'met' if met else 'NOT met'})"
    ]
    lines += [
        f"{variant}: {mib:.1f} MiB above baseline"
        for variant, mib in above.items()
        if variant not in ("baseline", "stream")
    ]
    return lines


def main(args: argparse.Namespace) -> None:
    rows, above, notes = measure(args)
    details = [
        f"Data: {args.emails:,} emails of ~6 KiB JSON, pages of {args.page_size}; each variant in a fresh "
        f"process (peak RSS = VmHWM), median of {args.runs}",
        *notes,
    ]
    print("\n".join(details))
    print(table(rows, markdown=False))
    print("\n".join(verdicts(above)))
    if not args.no_write:
        command = shlex.join(
            [
                "python",
                "benchmarks/bench_memory.py",
                f"--emails={args.emails}",
                f"--runs={args.runs}",
                f"--prefetch={args.prefetch}",
            ]
        )
        body = [table(rows, markdown=True), "", *(f"- {line}" for line in verdicts(above))]
        append_results(f"Peak memory listing {args.emails:,} emails", command, details, body)
        print("Appended to benchmarks/RESULTS.md")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--emails", type=int, default=20_000, help="how many emails to list (20000)")
    parser.add_argument("--page-size", type=int, default=100, help="_limit per page (100)")
    parser.add_argument("--runs", type=int, default=3, help="processes per variant (3)")
    parser.add_argument("--prefetch", type=int, default=10, help="prefetch= of the prefetch variant (10)")
    parser.add_argument("--no-write", action="store_true", help="print only; leave RESULTS.md alone")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if not 1 <= args.emails <= 200_000 or not 1 <= args.runs <= 20 or args.page_size < 1 or args.prefetch < 1:
        parser.error("--emails must be 1..200000, --runs 1..20, --page-size and --prefetch positive")
    return args


if __name__ == "__main__":
    parsed = parse_args()
    if parsed.child:
        listed = asyncio.run(
            asyncio.wait_for(
                child(parsed.child, parsed.url, parsed.page_size, parsed.prefetch), CHILD_TIMEOUT
            )
        )
        print(peak_rss_kib(), listed)
    else:
        main(parsed)
