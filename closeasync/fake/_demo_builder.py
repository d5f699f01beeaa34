"""The maker of one demo organization, used by :mod:`closeasync.fake.demo` and its activities.

:func:`~closeasync.fake.demo.load_demo` drives a :class:`DemoBuilder` lead by lead. The
builder holds the organization (users, their numbers, statuses, the custom activity types,
the website form), the lead being made (its owner, contacts' company, words to write
with) and the one ``random.Random`` every choice is drawn from, so a seed always gives
the same data. Email threads and SMS are made here; the other activity types in
``_demo_activities``.
"""

from __future__ import annotations

import html
import random
import re
import string
import unicodedata
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from ..models._converter import format_datetime
from . import _demo_text as text
from ._objects import base_fields, email_object, sms_object, stamp_sent
from .core import FakeClose

__all__ = ["FORM_FIELDS", "DemoBuilder"]

Obj = dict[str, Any]
#: How far back the demo's history goes from the fake's clock.
SPAN = timedelta(days=90)
#: The fields of the website form that creates some of the leads, in the order answered.
FORM_FIELDS = ("Name", "Work email", "Company", "Team size", "Subscribe to the newsletter")
#: The choices of the fields of the organization's two custom activity types.
_CUSTOM_CHOICES = (
    (("Under $10k", "$10k-$50k", "Over $50k"), ("This quarter", "Next quarter"), ("Yes", "No")),
    (("Kickoff", "Import", "Training", "Live"), ("On track", "At risk"), ("Yes", "No")),
)
_BASE62 = string.digits + string.ascii_letters
_UA = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko)"


def _slug(value: str) -> str:
    ascii_only = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "", ascii_only.lower())


def _html(body: str) -> str:
    return "".join(f"<p>{html.escape(p)}</p>".replace("\n", "<br>") for p in body.split("\n\n"))


class DemoBuilder:
    """Makes one demo organization; the current lead, its owner and its words are kept on it."""

    # The lead being made: set by start_lead() for each one.
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

    def add_organization(self) -> None:
        """Add the sales team and the ids the leads' activities refer to (statuses, types, form)."""
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
            (self.new_id("actitype"), [self.new_id("cf") for _ in c], c) for c in _CUSTOM_CHOICES
        ]
        self.form = (
            self.short_id("form"),
            self.short_id("formconf"),
            [self.short_id("formfld") for _ in FORM_FIELDS],
        )

    def start_lead(self, company: str) -> None:
        """Add the lead ``company`` (name suffix drawn) and make it the current one, with an owner."""
        rng = self.rng
        self.created = self.now - SPAN * rng.uniform(0.3, 1.0)
        self.lead = self.fake.add_lead(company + rng.choice(text.COMPANY_SUFFIXES))
        self.lead["date_created"] = format_datetime(self.created)
        self.owner = rng.choice(self.users)
        seats, quarter = rng.choice((5, 8, 12, 20, 35, 50)), rng.randint(1, 4)
        self.words = {"company": company, "seats": str(seats), "quarter": str(quarter)}
        self.words.update(user=self.owner["first_name"], sender=self.owner["name"])

    def add_contact(self) -> Obj:
        """Add a contact to the current lead, at an address under the company's domain."""
        domain = f"{_slug(self.words['company'])}.example"
        first, last = self.rng.choice(text.FIRST_NAMES), self.rng.choice(text.LAST_NAMES)
        emails = [f"{_slug(first)}.{_slug(last)}@{domain}"]
        if self.rng.random() < 0.25:
            emails.append(f"{_slug(first)}{self.rng.randint(1, 99)}@mail.example")
        phones = [self.phone() for _ in range(self.rng.randint(1, 2))]
        self.contacts += 1
        return self.fake.add_contact(self.lead["id"], f"{first} {last}", emails=emails, phones=phones)

    # -- email and SMS -------------------------------------------------------------------

    def _store(self, message: Obj, send_at: datetime | None) -> None:
        self.state.activities[message["id"]] = message
        self.state.events.created(message, actor=message.get("user_id"))  # as add_activity logs
        self.counts[message["_type"]] += 1
        if send_at is not None:  # scheduled: the fake sends it when its clock gets there
            self.state.pending[message["id"]] = send_at

    def _base(self, kind: str, when: datetime) -> Obj:
        org, lead_id = self.state.organization_id, self.lead["id"]
        return base_fields(
            kind=kind, ident=self.new_id("acti"), org=org, user=self.owner, now=when, lead_id=lead_id
        )

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
        """An email thread with the contact, 2-5 messages each answering the last."""
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
        """An SMS (now and then an MMS) to or from the contact."""
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
