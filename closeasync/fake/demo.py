"""Demo data: fill a :class:`FakeClose` with a realistic, reproducible organization.

>>> from closeasync.fake import FakeClose
>>> summary = load_demo(FakeClose(seed=1), leads=5)
>>> summary.leads, summary.counts["Created"]
(5, 5)

The organization has a few users, ``leads`` companies with 1-3 contacts each
(addresses under the reserved ``.example`` domain, phones in the fictional
``555-01xx`` range) and activities of every type over the 90 days before the
fake's clock: email threads with replies, SMS and MMS, calls, notes, meetings,
status changes, completed tasks, WhatsApp messages, custom activities and form
submissions. Emails and SMS are built by the functions that build the ones the
fake creates through its API, so they carry every field Close sends. A few are
drafts, and a few are scheduled for the next days: the fake sends those when its
clock gets there. Everything comes from ``random.Random(seed)``, so two fresh
fakes with the same seed hold identical data.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import attrs

from . import _demo_activities as kinds
from . import _demo_text as text
from ._demo_builder import DemoBuilder
from .core import FakeClose

__all__ = ["DemoSummary", "load_demo"]

Obj = dict[str, Any]


@attrs.frozen
class DemoSummary:
    """What :func:`load_demo` added (leads, contacts, activities by ``_type``); users in the org."""

    leads: int
    contacts: int
    users: int
    counts: dict[str, int]

    @property
    def activities(self) -> int:
        """How many activities were added, all types together."""
        return sum(self.counts.values())

    def describe(self) -> str:
        """One line: ``5 leads, 9 contacts, 5 users, 80 activities (Call 7, Created 5, ...)``."""
        kinds = ", ".join(f"{kind} {n}" for kind, n in sorted(self.counts.items()))
        return (
            f"{self.leads} leads, {self.contacts} contacts, {self.users} users, "
            f"{self.activities} activities ({kinds})"
        )


def load_demo(fake: FakeClose, *, leads: int = 300) -> DemoSummary:
    """Add a demo organization to ``fake``, seeded by the fake's seed, and say what was added.

    Raises:
        ValueError: ``leads`` is negative.
    """
    if leads < 0:
        raise ValueError(f"leads must be 0 or more, got {leads}")
    builder = DemoBuilder(fake)
    builder.add_organization()
    names = [(root, trade) for root in text.COMPANY_ROOTS for trade in text.COMPANY_TRADES]
    builder.rng.shuffle(names)  # no two leads share a name, up to len(names) leads
    for index in range(leads):
        _add_lead(builder, *names[index % len(names)])
    users = len(fake.state.users)
    return DemoSummary(leads=leads, contacts=builder.contacts, users=users, counts=dict(builder.counts))


def _add_lead(b: DemoBuilder, root: str, trade: str) -> None:
    """One lead: its contacts, then its history (messages, calls, notes... and status changes)."""
    rng = b.rng
    b.start_lead(f"{root} {trade}")
    contacts = [b.add_contact() for _ in range(rng.randint(1, 3))]
    webform = rng.random() < 0.2
    kinds.created(b, source="webform" if webform else "ui")
    if webform:
        kinds.form_submission(b, contacts[0], b.created + timedelta(seconds=rng.uniform(1, 30)))
    makers: list[tuple[Callable[[DemoBuilder, Obj], None], float]] = [
        (DemoBuilder.thread, rng.choice((0, 1, 1, 2, 2, 3))),
        (DemoBuilder.sms, rng.choice((0, 0, 1, 2, 3, 4))),
        (kinds.call, rng.randint(0, 3)),
        (kinds.note, rng.randint(0, 2)),
        (kinds.task, rng.randint(0, 2)),
        (kinds.meeting, rng.random() < 0.4),
        (kinds.whatsapp, rng.random() < 0.2),
        (kinds.custom, rng.random() < 0.4),
    ]
    for make, times in makers:
        for _ in range(int(times)):
            make(b, rng.choice(contacts))
    kinds.status_changes(b)
