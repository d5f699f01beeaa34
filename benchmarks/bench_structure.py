"""Structuring alone: 20,000 emails from JSON pages into models, no network.

The same ~6 KiB realistic emails as the listing benchmarks (see ``_common.py``), as
200 pages of orjson bytes in memory. Each pass turns every page into objects and
drops them, in this one process, with each of:

- ``orjson.loads`` only (dicts: the floor every client pays);
- closeasync's generated hooks (the production converter);
- closeasync's interpreted reference hooks (``make_model_converter(generated=False)``:
  what production used before the hooks were generated, and what the strict
  converter and error messages still use);
- stock cattrs (``cattrs.preconf.orjson.make_converter()`` with a datetime hook),
  which builds each model through its ``__init__``.

Reported: the median of ``--runs`` passes, with the garbage collector on (as in an
application) and off (for information), and each as a fraction of ``orjson.loads``
throughput.

    python benchmarks/bench_structure.py --emails 20000 --runs 5
"""

from __future__ import annotations

import argparse
import gc
import shlex
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import orjson
from _common import append_results, build_emails, median, page_bodies, table
from cattrs.preconf.orjson import make_converter

from closeasync._serde import converter, make_model_converter, parse_datetime
from closeasync.models import Email


def stock_cattrs() -> Callable[[Any], Any]:
    conv = make_converter()
    conv.register_structure_hook(datetime, lambda value, _: parse_datetime(value))
    hook = conv.get_structure_hook(Email)
    return lambda item: hook(item, Email)


def passes(pages: Sequence[bytes], structure: Callable[[Any], Any] | None) -> Callable[[], int]:
    def run() -> int:
        count = 0
        for body in pages:
            items = orjson.loads(body)["data"]
            if structure is None:
                count += len(items)
            else:
                for item in items:
                    structure(item)
                    count += 1
        return count

    return run


def timed(run: Callable[[], int], expected: int, *, gc_off: bool) -> float:
    gc.collect()
    if gc_off:
        gc.disable()
    try:
        started = time.perf_counter()
        count = run()
        elapsed = time.perf_counter() - started
    finally:
        gc.enable()
    if count != expected:
        raise RuntimeError(f"structured {count}, expected {expected}")
    return elapsed


def main(args: argparse.Namespace) -> None:
    emails = build_emails(args.emails)
    pages = list(page_bodies(emails, 100).values())
    mean_kib = sum(len(orjson.dumps(e)) for e in emails) / len(emails) / 1024
    del emails
    reference = make_model_converter(generated=False).get_structure_hook(Email)
    generated = converter.get_structure_hook(Email)
    variants: dict[str, Callable[[], int]] = {
        "orjson.loads (dicts)": passes(pages, None),
        "closeasync generated": passes(pages, lambda item: generated(item, Email)),
        "closeasync reference (before)": passes(pages, lambda item: reference(item, Email)),
    }
    if not args.no_cattrs:
        variants["stock cattrs"] = passes(pages, stock_cattrs())
    n = args.emails
    for run in variants.values():  # warm up
        timed(run, n, gc_off=False)
    times: dict[tuple[str, bool], list[float]] = {}
    for _ in range(args.runs):
        for gc_off in (False, True):
            for name, run in variants.items():
                times.setdefault((name, gc_off), []).append(timed(run, n, gc_off=gc_off))
    rows = [["variant", "gc", "median s", "emails/s", "of loads", "structuring us/email"]]
    for gc_off in (False, True):
        floor = median(times[("orjson.loads (dicts)", gc_off)])
        for name in variants:
            med = median(times[(name, gc_off)])
            extra = "" if name.startswith("orjson") else f"{(med - floor) / n * 1e6:.1f}"
            rows.append(
                [
                    name,
                    "off" if gc_off else "on",
                    f"{med:.3f}",
                    f"{n / med:,.0f}",
                    f"{floor / med:.2f}",
                    extra,
                ]
            )
    speedup = median(times[("closeasync reference (before)", False)]) - median(
        times[("orjson.loads (dicts)", False)]
    )
    speedup /= median(times[("closeasync generated", False)]) - median(times[("orjson.loads (dicts)", False)])
    summary = f"generated hooks structure {speedup:.2f}x as fast as the reference (gc on, loads excluded)"
    details = [
        f"Data: {n:,} emails of {mean_kib:.1f} KiB mean JSON in 100-email pages, in memory; {args.runs} runs"
    ]
    print(details[0])
    print(table(rows, markdown=False))
    print(summary)
    if not args.no_write:
        argv = ["python", "benchmarks/bench_structure.py", f"--emails={n}", f"--runs={args.runs}"]
        if args.no_cattrs:
            argv.append("--no-cattrs")
        body = [table(rows, markdown=True), "", f"- {summary}"]
        append_results(f"Structuring {n:,} emails (no network)", shlex.join(argv), details, body)
        print("Appended to benchmarks/RESULTS.md")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--emails", type=int, default=20_000, help="how many emails (20000)")
    parser.add_argument("--runs", type=int, default=5, help="passes per variant (5)")
    parser.add_argument("--no-cattrs", action="store_true", help="leave out stock cattrs")
    parser.add_argument("--no-write", action="store_true", help="print only; leave RESULTS.md alone")
    args = parser.parse_args(argv)
    if not 100 <= args.emails <= 200_000 or not 1 <= args.runs <= 50:
        parser.error("--emails must be 100..200000 and --runs 1..50")
    return args


if __name__ == "__main__":
    main(parse_args())
