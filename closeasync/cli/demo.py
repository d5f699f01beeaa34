"""``closeasync demo``: the SDK against a fake Close served on 127.0.0.1, with a short report.

It fills a :class:`~closeasync.fake.FakeClose` with demo data, serves it over real
HTTP, and then uses only the public SDK (``CloseAsync(api_key=..., base_url=...)``):
it exports every activity into a temporary SQLite file (what ``closeasync export``
does) and checks the rows against the fake; walks one email and one SMS through
Close's status rules (draft, edit, a refused send, send, cancel, schedule); deletes
one exported email; and exports again with resume, which adds the two messages just
created and applies what Close's event log says changed (the deletion too). The
fake's clock is frozen and moved by hand (``fake.advance``), so the scheduled send
is deterministic.
"""

from __future__ import annotations

import sys
import tempfile
import textwrap
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from email.utils import parseaddr
from typing import Any, TextIO, TypeVar

from .. import CloseAsync, InvalidRequestError
from ..errors import BadRequestError
from ..export import ExportSpec, ExportStats, SQLiteStore, run_export, table_for
from ..fake import FakeClose, SentMessage
from ..fake.app import serve
from ..fake.demo import load_demo
from ..listing.paginator import Page
from ..models import SMS, Email

__all__ = ["run_demo"]

M = TypeVar("M", Email, SMS)
T = TypeVar("T")


class _Report:
    """Prints the report as it goes and keeps track of what did not behave."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.problems: list[str] = []

    def say(self, line: str = "") -> None:
        print(line, file=self.out, flush=True)

    def expect(self, ok: bool, problem: str) -> None:
        if not ok:
            self.problems.append(problem)
            self.say(f"  !! {problem}")


async def _stream(pages: AsyncIterator[Page[T]]) -> tuple[list[T], int, float]:
    """Every item of a listing, the number of pages and the seconds it took."""
    started = time.perf_counter()
    items: list[T] = []
    count = 0
    async for page in pages:
        items.extend(page)
        count += 1
    return items, count, time.perf_counter() - started


def _speed(call: str, count: int, noun: str, pages: int, seconds: float, unit: str) -> str:
    rate = count / seconds if seconds > 0 else 0.0
    paged = f"{pages:>3} page{'s' if pages != 1 else ''}"
    return f"  {call:<20} {count:>6,} {noun:<6} in {paged}, {seconds:.2f} s, {rate:>7,.0f} {unit}"


def _wrapped(line: str) -> str:
    return textwrap.fill(line, 100, initial_indent="  ", subsequent_indent="    ")


def _refusal(exc: InvalidRequestError | BadRequestError) -> str:
    reasons = "; ".join(f"{field}: {message}" for field, message in exc.field_errors.items())
    return reasons or str(exc)


async def _life(
    report: _Report,
    fake: FakeClose,
    kind: str,
    create: Callable[[], Awaitable[M]],
    resource: Any,  # close.emails or close.sms: the same methods, but send() takes other names
    sender: dict[str, str],
    edit: dict[str, str],
) -> None:
    """Walk one message through draft, edit, refused sends, send, cancel, schedule and sent."""

    def sent_log() -> list[SentMessage]:
        return fake.sent_emails if kind == "email" else fake.sent_sms

    needed = next(iter(sender))
    message: M = await create()
    statuses = [str(message.status)]
    report.say(f"  create()     {message.status:<9}  {message.id}")
    message = await resource.update(message, **edit)
    statuses.append(str(message.status))
    report.say(f"  update()     {message.status:<9}  {', '.join(f'{k}={v!r}' for k, v in edit.items())}")
    try:
        await resource.send(message)
        report.expect(False, f"sending the {kind} without {needed} was not refused")
    except InvalidRequestError as exc:
        report.say("  send()       refused by the SDK, nothing sent (InvalidRequestError):")
        report.say(f"                 {_refusal(exc)}")
    try:
        await resource.send(message.id)  # by id the SDK cannot check the status rules: the server does
        report.expect(False, f"the fake Close accepted a {kind} without {needed}")
    except BadRequestError as exc:
        report.say(f"  send(id)     refused by the fake Close with HTTP {exc.status} (BadRequestError):")
        report.say(f"                 {_refusal(exc)}")
    report.expect(not sent_log(), f"a refused {kind} was sent")
    message = await resource.send(message, **sender, send_in=5)
    statuses.append(str(message.status))
    report.say(f"  send({needed}=..., send_in=5)  {message.status}: it would leave in 5 s")
    message = await resource.cancel(message)
    statuses.append(str(message.status))
    report.say(f"  cancel()     {message.status:<9}  back to a draft before it left")
    at = fake.now + timedelta(hours=1)
    message = await resource.schedule(message, at=at)
    statuses.append(str(message.status))
    report.say(
        f"  schedule()   {message.status:<9}  for {at:%Y-%m-%d %H:%M} UTC, an hour later on the fake's clock"
    )
    delivered = fake.advance(3600 + 60)
    message = await resource.get(message.id)
    statuses.append(str(message.status))
    when = f"{message.date_sent:%Y-%m-%d %H:%M:%S} UTC" if message.date_sent else "never"
    report.say(f"  fake.advance(3660) then get()  {message.status}, date_sent {when}")
    sent = sent_log()
    report.say(f"  status: {' -> '.join(statuses)}")
    report.say(
        f"  fake.sent_{'emails' if kind == 'email' else 'sms'}: {len(sent)} ({delivered} sent by the advance)"
    )
    expected = ["draft", "draft", "outbox", "draft", "scheduled", "sent"]
    report.expect(statuses == expected, f"the {kind} went {statuses}, expected {expected}")
    report.expect([m.id for m in sent] == [message.id], f"expected exactly this {kind} sent, got {len(sent)}")


async def run_demo(*, leads: int = 300, seed: int = 1, out: TextIO = sys.stdout) -> int:
    """Run the demo and print its report to ``out``; return 0 when everything behaved."""
    started = time.perf_counter()
    report = _Report(out)
    fake = FakeClose(seed=seed)  # a frozen clock: it moves only with fake.advance
    summary = load_demo(fake, leads=leads)
    loaded = time.perf_counter() - started
    with tempfile.TemporaryDirectory(prefix="closeasync-demo-") as folder:
        store = SQLiteStore(f"{folder}/close.sqlite")
        try:
            async with serve(fake) as server:
                report.say(
                    f"closeasync demo: the SDK against a fake Close at {server.base_url} (no key, no network)"
                )
                report.say()
                report.say(f"Demo organization (seed {seed}), loaded in {loaded:.2f} s:")
                report.say(f"  {summary.leads} leads, {summary.contacts} contacts, {summary.users} users")
                report.say(_wrapped(f"{summary.activities:,} activities"))
                async with CloseAsync(api_key=fake.api_key, base_url=server.base_url) as close:
                    await _export(report, fake, close, store)
                    await _tour(report, fake, close)
                    await _export_again(report, fake, close, store)
        finally:
            store.close()
    elapsed = time.perf_counter() - started
    report.say()
    if report.problems:
        report.say(
            f"FAILED in {elapsed:.2f} s: {len(report.problems)} step(s) did not behave as Close documents."
        )
        return 1
    report.say(f"Done in {elapsed:.2f} s: every step behaved as Close documents.")
    return 0


def _expected_rows(fake: FakeClose) -> dict[str, set[str]]:
    """The fake's activity ids, by the table an export puts them in."""
    tables: dict[str, set[str]] = {}
    for ident, activity in fake.activities.items():
        tables.setdefault(table_for(str(activity.get("_type"))), set()).add(ident)
    return tables


async def _export(report: _Report, fake: FakeClose, close: CloseAsync, store: SQLiteStore) -> None:
    report.say()
    report.say("closeasync export activities --to close.sqlite  (every activity, over HTTP, into SQLite):")
    stats = await run_export(close, ExportSpec(what="activities"), store)
    report.say(
        f"  {stats.items:,} activities in {stats.pages} pages, {stats.seconds:.2f} s, "
        f"{stats.rate:,.0f} activities/s, rate-limit waits {stats.rate_limit_waits}"
    )
    counts = store.counts()
    expected = _expected_rows(fake)
    width = max(len(t) for t in counts) if counts else 5
    for table, rows in sorted(counts.items()):
        report.say(f"    {table:<{width}} {rows:>6,} rows")
    report.expect(
        store.row_ids() == expected, "the SQLite tables do not hold exactly the fake's activities, by type"
    )
    if store.row_ids() == expected:
        report.say(
            f"  every row matches the fake's {sum(map(len, expected.values())):,} activities by id and type"
        )


async def _export_again(report: _Report, fake: FakeClose, close: CloseAsync, store: SQLiteStore) -> None:
    report.say()
    copied = sorted(store.row_ids().get("email", ()))
    old = copied[0] if copied else None
    if old is not None:
        await close.emails.delete(old)  # an email the first export copied: it must leave the copy
        report.say(f"close.emails.delete({old})  (an email the first export copied)")
    report.say(
        "closeasync export activities --to close.sqlite --since-last  (what is new, edited or deleted):"
    )
    stats = await run_export(close, ExportSpec(what="activities"), store, resume=True, stats=ExportStats())
    kinds = ", ".join(f"{kind} {n}" for kind, n in sorted(stats.by_type.items())) or "nothing"
    report.say(f"  {stats.items} new activities ({kinds}) in {stats.pages} page(s)")
    report.say(
        f"  {stats.events} events in Close's event log since the first export: "
        f"{stats.updated} rows written again as Close has them now, {stats.deleted} removed"
    )
    report.expect(
        stats.by_type == Counter({"Email": 1, "SMS": 1}), f"expected the 2 new messages, got {kinds}"
    )
    report.expect(store.row_ids() == _expected_rows(fake), "the copy is not the fake's activities, by id")
    report.expect(old is None or stats.deleted >= 1, "the deleted email was not removed from the copy")
    if store.row_ids() == _expected_rows(fake):
        report.say("  the copy holds exactly the fake's activities again, the deleted email gone")


async def _tour(report: _Report, fake: FakeClose, close: CloseAsync) -> None:
    emails, _, _ = await _stream(close.emails.list().pages())
    texts, _, _ = await _stream(close.sms.list().pages())
    # One lead with both emails and texts, and a contact to write to.
    by_lead = {s.lead_id: s for s in texts if s.contact_id and s.local_phone}
    email = next((e for e in emails if e.lead_id in by_lead and e.contact_id), emails[0] if emails else None)
    if email is None or email.lead_id is None:
        report.expect(False, "the demo organization has no email to start from (use --leads 1 or more)")
        return
    lead_id = email.lead_id
    report.say()
    timeline, pages, seconds = await _stream(close.activities.list(lead_id=lead_id).pages())
    report.say(
        _speed("close.activities.list(lead_id=...)", len(timeline), "items", pages, seconds, "items/s")
    )
    kinds = Counter(type(a).__name__ for a in timeline)
    report.say(_wrapped("one lead's timeline: " + ", ".join(f"{k} {n}" for k, n in sorted(kinds.items()))))
    contact = email.to[0] if email.direction == "outgoing" and email.to else str(email.sender)
    address = parseaddr(contact)[1] or contact
    report.say()
    report.say(f"An email's life, on lead {lead_id} (to {address}):")
    await _life(
        report,
        fake,
        "email",
        lambda: close.emails.create(
            lead_id=lead_id,
            contact_id=email.contact_id,
            status="draft",
            to=[address],
            subject="Quick question",
        ),
        close.emails,
        {"sender": "Maya Lindqvist <maya@fake.close.test>"},
        {"subject": "Quick question about next week", "body_text": "Hi! Do you have 20 minutes on Tuesday?"},
    )
    sms = by_lead.get(lead_id) or (texts[0] if texts else None)
    report.say()
    report.say(f"An SMS's life, on the same lead (to {sms.remote_phone if sms else '+14155550100'}):")
    await _life(
        report,
        fake,
        "SMS",
        lambda: close.sms.create(
            status="draft",
            lead_id=lead_id,
            contact_id=sms.contact_id if sms and sms.lead_id == lead_id else None,
            remote_phone=sms.remote_phone if sms else "+14155550100",
            text="Are we still on for 3pm?",
        ),
        close.sms,
        {"local_phone": sms.local_phone if sms and sms.local_phone else "+16505550100"},
        {"text": "Are we still on for 3pm tomorrow?"},
    )
