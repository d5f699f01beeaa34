"""Structuring alone: 20,000 emails from JSON pages into models, no network.

The same ~6 KiB realistic emails as the listing benchmarks (see ``_common.py``), as
200 pages of orjson bytes in memory. Each pass turns every page into objects and
drops them, in this one process, with each of:

- ``orjson.loads`` only (dicts: the floor every client pays), reading the five
  columns every benchmark reads (``_common.COLUMNS``) from each dict;
- closeasync's views (the production converter), reading the same columns typed
  (a ``datetime``, a ``MessageStatus``): timestamps, enums and nested models are
  converted when first read, so the columns read are part of the measure;
- closeasync's views with every field read, nested models included;
- closeasync's reference functions (``make_model_converter(lazy=False)``), which
  convert every field at once: the specification, what the strict converter uses,
  and close to production before views (the generated eager hooks of 2026-11-22
  07:17 measured 11.5 us an email here, the reference 21.4);
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
from _common import (
    append_results,
    build_emails,
    median,
    page_bodies,
    read_columns,
    read_dict_columns,
    read_every_field,
    table,
)
from cattrs.preconf.orjson import make_converter

from closeasync.models import Email
from closeasync.models._converter import converter, make_model_converter, parse_datetime


def stock_cattrs() -> Callable[[Any], Any]:
    conv = make_converter()
    conv.register_structure_hook(datetime, lambda value, _: parse_datetime(value))
    hook = conv.get_structure_hook(Email)
    return lambda item: hook(item, Email)


def passes(pages: Sequence[bytes], use: Callable[[Any], Any]) -> Callable[[], int]:
    """One pass: parse every page and ``use`` each item of it."""

    def run() -> int:
        count = 0
        for body in pages:
            for item in orjson.loads(body)["data"]:
                use(item)
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
    reference = make_model_converter(lazy=False).get_structure_hook(Email)
    view = converter.get_structure_hook(Email)
    variants: dict[str, Callable[[], int]] = {
        "orjson.loads (dicts)": passes(pages, read_dict_columns),
        "closeasync views": passes(pages, lambda item: read_columns(view(item, Email))),
        "closeasync views, every field": passes(pages, lambda item: read_every_field(view(item, Email))),
        "closeasync reference (eager)": passes(pages, lambda item: read_columns(reference(item, Email))),
    }
    if not args.no_cattrs:
        cattrs_hook = stock_cattrs()
        variants["stock cattrs"] = passes(pages, lambda item: read_columns(cattrs_hook(item)))
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
    floor = median(times[("orjson.loads (dicts)", False)])
    eager = median(times[("closeasync reference (eager)", False)]) - floor
    lazy = median(times[("closeasync views", False)]) - floor
    summary = (
        f"views with the columns read cost {lazy / n * 1e6:.1f} us an email over loads, "
        f"the eager reference {eager / n * 1e6:.1f} (gc on)"
    )
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
