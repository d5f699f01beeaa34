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

import html
import random
import re
import string
import unicodedata
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import attrs

from ..models._converter import format_datetime
from . import _demo_activities as kinds
from . import _demo_text as text
from ._objects import base_fields, email_object, sms_object, stamp_sent
from .core import FakeClose

__all__ = ["DemoSummary", "load_demo"]

Obj = dict[str, Any]
SPAN = timedelta(days=90)
_BASE62 = string.digits + string.ascii_letters
_UA = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko)"


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
    return _Builder(fake).build(leads)


def _slug(value: str) -> str:
    ascii_only = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "", ascii_only.lower())


def _html(body: str) -> str:
    return "".join(f"<p>{html.escape(p)}</p>".replace("\n", "<br>") for p in body.split("\n\n"))


class _Builder:
    """Makes one demo organization; the current lead, its owner and its words are kept on it."""

    # The lead being made: set by _lead() for each one.
    lead: Obj
    owner: Obj
    created: datetime
    words: dict[str, str]

    def __init__(self, fake: FakeClose) -> None:
        self.fake = fake
        self.state = fake.state
        self.rng = random.Random(fake.state.seed)
        self.now = fake.now  # read once: a realtime clock moves while we build
        self.counts: Counter[str] = Counter()
        self.contacts = 0

    # -- ids, time, words ----------------------------------------------------------------

    def new_id(self, prefix: str) -> str:
        return self.state.ids.new(prefix)

    def short_id(self, prefix: str) -> str:
        return f"{prefix}_" + "".join(self.rng.choices(_BASE62, k=22))

    def between(self, lo: datetime, hi: datetime) -> datetime:
        return lo + (hi - lo) * self.rng.random()

    def sometime(self) -> datetime:
        """A moment in the life of the current lead."""
        return self.between(self.created, self.now)

    def after(self, when: datetime, low_hours: float, high_hours: float) -> datetime:
        """A moment after ``when``, but by at most half of what is left before now."""
        gap = timedelta(hours=self.rng.uniform(low_hours, high_hours))
        return when + min(gap, (self.now - when) / 2)

    def future(self) -> datetime:
        """When a scheduled message goes out: on one of the next days, in US working hours."""
        day = self.now + timedelta(days=self.rng.randint(1, 5))
        return day.replace(hour=self.rng.randint(14, 21), minute=0, second=0, microsecond=0)

    def say(self, choices: tuple[str, ...], contact: Obj, **extra: str) -> str:
        first = contact["name"].partition(" ")[0]
        return self.rng.choice(choices).format(**{**self.words, "first": first, **extra})

    def phone(self) -> str:
        return f"+1{self.rng.choice(text.AREA_CODES)}55501{self.rng.randrange(100):02d}"

    # -- the organization and its leads --------------------------------------------------

    def build(self, leads: int) -> DemoSummary:
        known = {u["email"] for u in self.state.users.values()}
        for name, email in text.USERS:
            if email not in known:
                self.fake.add_user(name, email)
        self.users = list(self.state.users.values())
        self.numbers = {u["id"]: self.phone() for u in self.users}
        self.accounts = {u["id"]: self.new_id("emailacct") for u in self.users}
        self.lead_statuses = [
            (self.new_id("stat"), s) for s in ("Potential", "Qualified", "Customer", "Bad Fit")
        ]
        self.opportunity_statuses = {
            kind: (self.new_id("stat"), kind.title()) for kind in ("active", "won", "lost")
        }
        self.pipeline = (self.new_id("pipe"), "Sales")
        self.sequence = (self.new_id("seq"), "Outbound - first touch")
        self.custom_types = [
            (self.new_id("actitype"), [self.new_id("cf") for _ in c], c) for c in kinds.CUSTOM_CHOICES
        ]
        self.form = (
            self.short_id("form"),
            self.short_id("formconf"),
            [self.short_id("formfld") for _ in kinds.FORM_FIELDS],
        )
        names = [(root, trade) for root in text.COMPANY_ROOTS for trade in text.COMPANY_TRADES]
        self.rng.shuffle(names)  # no two leads share a name, up to len(names) leads
        for index in range(leads):
            self._lead(*names[index % len(names)])
        users = len(self.state.users)
        return DemoSummary(leads=leads, contacts=self.contacts, users=users, counts=dict(self.counts))

    def _lead(self, root: str, trade: str) -> None:
        rng = self.rng
        company = f"{root} {trade}"
        self.created = self.now - SPAN * rng.uniform(0.3, 1.0)
        self.lead = self.fake.add_lead(company + rng.choice(text.COMPANY_SUFFIXES))
        self.lead["date_created"] = format_datetime(self.created)
        self.owner = rng.choice(self.users)
        seats, quarter = rng.choice((5, 8, 12, 20, 35, 50)), rng.randint(1, 4)
        self.words = {"company": company, "seats": str(seats), "quarter": str(quarter)}
        self.words.update(user=self.owner["first_name"], sender=self.owner["name"])
        contacts = [self._contact(f"{_slug(company)}.example") for _ in range(rng.randint(1, 3))]
        webform = rng.random() < 0.2
        self.add("Created", self.created, source="webform" if webform else "ui")
        if webform:
            kinds.form_submission(self, contacts[0], self.created + timedelta(seconds=rng.uniform(1, 30)))
        makers: list[tuple[Callable[[_Builder, Obj], None], float]] = [
            (_Builder.thread, rng.choice((0, 1, 1, 2, 2, 3))),
            (_Builder.sms, rng.choice((0, 0, 1, 2, 3, 4))),
            (kinds.call, rng.randint(0, 3)),
            (kinds.note, rng.randint(0, 2)),
            (kinds.task, rng.randint(0, 2)),
            (kinds.meeting, rng.random() < 0.4),
            (kinds.whatsapp, rng.random() < 0.2),
            (kinds.custom, rng.random() < 0.4),
        ]
        for make, times in makers:
            for _ in range(int(times)):
                make(self, rng.choice(contacts))
        kinds.status_changes(self)

    def _contact(self, domain: str) -> Obj:
        first, last = self.rng.choice(text.FIRST_NAMES), self.rng.choice(text.LAST_NAMES)
        emails = [f"{_slug(first)}.{_slug(last)}@{domain}"]
        if self.rng.random() < 0.25:
            emails.append(f"{_slug(first)}{self.rng.randint(1, 99)}@mail.example")
        phones = [self.phone() for _ in range(self.rng.randint(1, 2))]
        self.contacts += 1
        return self.fake.add_contact(self.lead["id"], f"{first} {last}", emails=emails, phones=phones)

    def add(self, kind: str, when: datetime, **fields: Any) -> Obj:
        """Store an activity of the current lead that happened ``when`` (by its owner unless told)."""
        fixed = {k: list(v) if isinstance(v, list) else v for k, v in kinds.FIXED.get(kind, {}).items()}
        fields = {"user_id": self.owner["id"], **fixed, **fields}
        self.counts[kind] += 1
        stamps = {"date_created": when, "date_updated": when, "activity_at": when}
        return self.fake.add_activity(kind, lead_id=self.lead["id"], **stamps, **fields)

    def _store(self, message: Obj, send_at: datetime | None) -> None:
        self.state.activities[message["id"]] = message
        self.counts[message["_type"]] += 1
        if send_at is not None:  # scheduled: the fake sends it when its clock gets there
            self.state.pending[message["id"]] = send_at

    def _base(self, kind: str, when: datetime) -> Obj:
        org, lead_id = self.state.organization_id, self.lead["id"]
        return base_fields(
            kind=kind, ident=self.new_id("acti"), org=org, user=self.owner, now=when, lead_id=lead_id
        )

    # -- email and SMS -------------------------------------------------------------------

    def _body(self, contact: Obj, *, outgoing: bool, first: bool) -> str:
        rng = self.rng
        if outgoing:
            paragraphs = rng.sample(text.PARAGRAPHS, rng.randint(1, 4) if first else rng.randint(1, 2))
            if not first and rng.random() < 0.4:
                paragraphs = [rng.choice(text.FOLLOW_UPS)]
            parts = (rng.choice(text.OPENERS), *paragraphs, rng.choice(text.CLOSINGS))
            return "\n\n".join(self.say((part,), contact) for part in parts)
        # The contact writes to the lead's owner.
        words = {"first": self.owner["first_name"], "sender": contact["name"]}
        parts = (
            rng.choice(text.OPENERS),
            *rng.sample(text.REPLIES, rng.randint(1, 2)),
            rng.choice(text.CLOSINGS),
        )
        return "\n\n".join(self.say((part,), contact, **words) for part in parts)

    def thread(self, contact: Obj) -> None:
        subject = self.say(text.SUBJECTS, contact)
        outgoing = self.rng.random() < 0.65
        when = self.sometime()
        size = self.rng.randint(2, 5)
        parent: Obj | None = None
        for index in range(size):
            if index:
                when = self.after(when, 0.3, 72)
            status = "sent" if outgoing else "inbox"
            if index == size - 1 and outgoing and self.rng.random() < 0.12:
                status = self.rng.choice(("draft", "scheduled"))
            parent = self._email(contact, when, status, f"Re: {subject}" if index else subject, parent)
            outgoing = not outgoing

    def _email(self, contact: Obj, when: datetime, status: str, subject: str, parent: Obj | None) -> Obj:
        rng, owner = self.rng, self.owner
        outgoing = status != "inbox"
        address = contact["emails"][0]["email"]
        new_text = self._body(contact, outgoing=outgoing, first=parent is None)
        body: Obj = {
            "status": status,
            "subject": subject,
            "body_text": new_text,
            "body_html": _html(new_text),
            "sender": f"{owner['name']} <{owner['email']}>" if outgoing else f"{contact['name']} <{address}>",
            "to": [address] if outgoing else [owner["email"]],
            "contact_id": contact["id"],
            "in_reply_to_id": parent["id"] if parent else None,
        }
        if parent is not None:  # quote the message answered, as mail clients do
            said = parent.get("body_text_quoted", [{"text": parent["body_text"]}])[0]["text"]
            quoted = f"On {parent['activity_at'][:10]}, {parent['sender']} wrote:\n" + "\n".join(
                f"> {line}" for line in said.splitlines()
            )
            body["body_text"] += f"\n\n{quoted}"
            body["body_html"] += f"<blockquote>{_html(said)}</blockquote>"
        send_at = self.future() if status == "scheduled" else None
        if send_at is not None:
            body["date_scheduled"] = format_datetime(send_at)
        if parent is None and outgoing and rng.random() < 0.25:
            body.update(sequence_id=self.sequence[0], sequence_name=self.sequence[1])
            body["sequence_subscription_id"] = self.new_id("sub")
        if outgoing and rng.random() < 0.08:
            name = rng.choice(("proposal.pdf", "pricing.pdf", "security-overview.pdf"))
            url = f"https://app.close.com/go/file/{self.new_id('file')}/"
            size = rng.randint(40_000, 2_000_000)
            body["attachments"] = [
                {"url": url, "filename": name, "size": size, "content_type": "application/pdf"}
            ]
        base = self._base("Email", when)
        email = email_object(base, body, parent["thread_id"] if parent else base["id"])
        if parent is not None:
            email["body_text_quoted"] = [
                {"expand": True, "text": new_text},
                {"expand": False, "text": quoted},
            ]
        if status in ("sent", "inbox"):
            host = (owner["email"] if outgoing else address).split("@")[1]
            stamp_sent(email, when, f"<{rng.getrandbits(64):016x}@{host}>")
            email["status"] = status  # stamp_sent says "sent": a received email stays in the inbox
            if parent is not None:
                email["references"] = [*parent["references"], *parent["message_ids"]]
                email["envelope"]["in_reply_to"] = (parent["message_ids"] or [None])[0]
                parent.update(has_reply=True, date_updated=email["date_created"])
            if outgoing and rng.random() < 0.5:
                email["opens"] = [self._open(when, address) for _ in range(rng.randint(1, 3))]
        self._store(email, send_at)
        return email

    def _open(self, sent: datetime, address: str) -> Obj:
        ip = f"203.0.113.{self.rng.randint(1, 254)}"
        opened = format_datetime(self.after(sent, 0.1, 30))
        return {"opened_at": opened, "opened_by": address, "ip_address": ip, "user_agent": _UA}

    def sms(self, contact: Obj) -> None:
        rng = self.rng
        outbound = rng.random() < 0.55
        status = "sent" if outbound else "inbox"
        if outbound and rng.random() < 0.08:
            status = rng.choice(("draft", "scheduled"))
        body: Obj = {
            "status": status,
            "text": self.say(text.SMS_OUT if outbound else text.SMS_IN, contact),
            "local_phone": self.numbers[self.owner["id"]],
            "remote_phone": contact["phones"][0]["phone"],
            "contact_id": contact["id"],
            "direction": "outbound" if outbound else "inbound",
            "source": "Close.io",
        }
        if rng.random() < 0.08:  # an MMS
            name, size = f"IMG_{rng.randint(1000, 9999)}.jpg", rng.randint(40_000, 900_000)
            body["attachments"] = [{"content_type": "image/jpeg", "filename": name, "size": size}]
        send_at = self.future() if status == "scheduled" else None
        if send_at is not None:
            body["date_scheduled"] = format_datetime(send_at)
        when = self.sometime()
        sms = sms_object(self._base("SMS", when), body, lambda: self.new_id("media"))
        if status == "sent":
            stamp_sent(sms, when, "")
        self._store(sms, send_at)
