"""The demo's activities other than Email and SMS, stored with ``FakeClose.add_activity``.

Each function adds activities of one type to the lead a
:class:`~closeasync.fake._demo_builder.DemoBuilder` is working on, with the fields the
type's model defines and values shaped like those in Close's examples.
"""

from __future__ import annotations

import html
import itertools
import re
import string
from datetime import datetime, timedelta
from typing import Any

from . import _demo_text as text
from ._demo_builder import FORM_FIELDS, DemoBuilder
from ._objects import format_phone

__all__ = [
    "call",
    "created",
    "custom",
    "form_submission",
    "meeting",
    "note",
    "status_changes",
    "task",
    "whatsapp",
]

Obj = dict[str, Any]


def _nulls(names: str) -> Obj:
    return dict.fromkeys(names.split())


_NO_SEQUENCE = _nulls("sequence_id sequence_name sequence_subscription_id")
#: Fields the demo's activities of one type share (null or empty in Close's examples too).
_FIXED: dict[str, Obj] = {
    "Created": _nulls("contact_id import_id"),
    "Call": {"source": "Close.io", **_NO_SEQUENCE}
    | _nulls("outcome_id voicemail_url voicemail_duration dialer_id dialer_saved_search_id"),
    "Note": {"note_mentions": [], "attachments": [], "source": "ui", **_nulls("contact_id title")},
    "Meeting": {"source": "calendar", "is_recurring": False, "provider_calendar_type": "google"}
    | {"attached_call_ids": [], "provider_calendar_ids": ["primary"], "user_note_mentions": []}
    | {"integrations": [], **_nulls("notetaker_id user_note user_note_html user_note_date_updated summary")}
    | _nulls("outcome_id outcome_reason outcome_autofill_confidence outcome_autofill_reasoning playbook_id")
    | _nulls("playbook_reason conversation_type_id conversation_type_reason"),
    "LeadStatusChange": {"contact_id": None},
    "OpportunityStatusChange": {"contact_id": None, "opportunity_value_currency": "USD"},
    "WhatsAppMessage": {
        "source": "api",
        "attachments": [],
        "integration_name": "WhatsApp Sync",
        **_NO_SEQUENCE,
    },
    "CustomActivity": {
        "source": "ui",
        "pinned": False,
        "mentions": [],
        **_nulls("pinned_at mentions_updated_at"),
    },
    "FormSubmission": {"form_name": "Website demo request"}
    | _nulls("user_id user_name created_by created_by_name updated_by updated_by_name"),
}


def _add(b: DemoBuilder, kind: str, when: datetime, **fields: Any) -> None:
    """Store an activity of the current lead that happened ``when`` (by its owner unless told)."""
    # Each activity gets its own lists: a test that changes one stored activity changes no other.
    fixed = {k: list(v) if isinstance(v, list) else v for k, v in _FIXED.get(kind, {}).items()}
    fields = {"user_id": b.owner["id"], **fixed, **fields}
    b.counts[kind] += 1
    stamps = {"date_created": when, "date_updated": when, "activity_at": when}
    b.fake.add_activity(kind, lead_id=b.lead["id"], **stamps, **fields)


def _phones(local: str, remote: str, *, countries: bool = True) -> Obj:
    out: Obj = {"local_phone": local, "remote_phone": remote}
    for side, number in (("local", local), ("remote", remote)):
        formatted, country = format_phone(number)
        out[f"{side}_phone_formatted"] = formatted
        if countries:
            out[f"{side}_country_iso"] = country
    return out


def _note_html(note: str) -> str:
    return f"<body><p>{html.escape(note)}</p></body>"


def created(b: DemoBuilder, *, source: str) -> None:
    """The lead's first activity: it was made in the app (``ui``) or by the website form."""
    _add(b, "Created", b.created, source=source)


def call(b: DemoBuilder, contact: Obj) -> None:
    """A call with the contact: answered, a voicemail left, or no answer."""
    rng = b.rng
    outcomes = (("completed", "answered"),) * 4 + (("completed", "vm-left"), ("no-answer", "no-answer"))
    status, disposition = rng.choice((*outcomes, ("busy", "busy")))
    duration = {"answered": rng.randint(40, 1800), "vm-left": rng.randint(15, 45)}.get(disposition, 0)
    ident = b.new_id("acti")
    recorded = disposition == "answered" and rng.random() < 0.5
    note = b.say(text.CALL_NOTES, contact)
    remote = contact["phones"][0]["phone"]
    _add(
        b,
        "Call",
        b.sometime(),
        id=ident,
        contact_id=contact["id"],
        status=status,
        disposition=disposition,
        direction="outbound" if rng.random() < 0.75 else "inbound",
        call_method=rng.choice(("regular", "regular", "power")),
        duration=duration,
        cost=str(2 * (duration // 60 + 1) if duration else 0),  # US cents
        phone=remote,
        **_phones(b.numbers[b.owner["id"]], remote),
        note=note,
        note_html=_note_html(note),
        recording_url=f"https://app.close.com/go/call/{ident}/recording/" if recorded else None,
    )


def note(b: DemoBuilder, contact: Obj) -> None:
    """A note on the lead, now and then pinned."""
    when = b.sometime()
    words = b.say(text.NOTES, contact)
    pinned = b.rng.random() < 0.1
    _add(
        b,
        "Note",
        when,
        note=words,
        note_html=_note_html(words),
        pinned=pinned,
        pinned_at=when if pinned else None,
    )


def task(b: DemoBuilder, contact: Obj) -> None:
    """A task the lead's owner completed."""
    owner = b.owner
    task = {"task_id": b.new_id("task"), "task_text": b.say(text.TASKS, contact)}
    _add(
        b,
        "TaskCompleted",
        b.sometime(),
        **task,
        task_assigned_to=owner["id"],
        task_assigned_to_name=owner["name"],
    )


def meeting(b: DemoBuilder, contact: Obj) -> None:
    """A calendar meeting with the contact (held, cancelled or declined)."""
    rng, owner = b.rng, b.owner
    starts = b.between(b.created, b.now - timedelta(hours=2)).replace(second=0, microsecond=0)
    starts = starts.replace(minute=rng.choice((0, 30)))
    duration = rng.choice((1800, 2700, 3600))
    status = rng.choice(("completed",) * 5 + ("canceled", "declined-by-lead"))
    link = f"https://zoom.us/j/{rng.randrange(10**9, 10**10)}"
    uid = "".join(rng.choices(string.ascii_lowercase + string.digits, k=26))
    guest = {"email": contact["emails"][0]["email"], "name": contact["name"], "contact_id": contact["id"]}
    guest |= {"user_id": None, "is_organizer": False, "status": "no" if status == "canceled" else "yes"}
    host = {"email": owner["email"], "name": owner["name"], "contact_id": None, "user_id": owner["id"]}
    host |= {"is_organizer": True, "status": "yes"}
    _add(
        b,
        "Meeting",
        starts,
        contact_id=contact["id"],
        users=[owner["id"]],
        title=b.say(text.MEETING_TITLES, contact),
        status=status,
        starts_at=starts,
        ends_at=starts + timedelta(seconds=duration),
        duration=duration,
        actual_duration=duration + rng.randint(-600, 300) if status == "completed" else None,
        location=link,
        note=f"{owner['name']} is inviting you to a scheduled Zoom meeting.\n\nJoin Zoom Meeting\n{link}",
        attendees=[guest, host],
        conference_links=[{"type": "ZOOM", "url": link}],
        calendar_event_link=f"https://www.google.com/calendar/event?eid={uid}",
        calendar_event_uids=[uid],
        provider_calendar_event_id=uid,
        connected_account_id=b.accounts[owner["id"]],
    )


def status_changes(b: DemoBuilder) -> None:
    """The lead's way through the statuses, and maybe its opportunity being won or lost."""
    rng = b.rng
    when = b.created
    path = rng.choice(((), (0, 1), (0, 1, 2), (0, 1, 2), (0, 3), (0, 1, 3)))
    for old, new in itertools.pairwise(path):
        when = b.after(when, 24, 24 * 20)
        (old_id, old_label), (new_id, new_label) = b.lead_statuses[old], b.lead_statuses[new]
        change = {"old_status_id": old_id, "old_status_label": old_label}
        _add(b, "LeadStatusChange", when, **change, new_status_id=new_id, new_status_label=new_label)
    customer = path[-1:] == (2,)
    if not customer and rng.random() < 0.75:
        return
    when = b.after(when, 24, 24 * 14)
    outcome = "won" if customer else rng.choice(("won", "lost", "lost"))
    (old_id, old_label), (new_id, new_label) = (
        b.opportunity_statuses["active"],
        b.opportunity_statuses[outcome],
    )
    pipeline_id, pipeline_name = b.pipeline
    value = rng.choice((1200, 4800, 9600, 18_000, 36_000, 60_000))
    won = when.replace(hour=0, minute=0, second=0, microsecond=0) if outcome == "won" else None
    _add(
        b,
        "OpportunityStatusChange",
        when,
        opportunity_id=b.new_id("oppo"),
        old_status_id=old_id,
        old_status_label=old_label,
        old_status_type="active",
        old_pipeline_id=pipeline_id,
        old_pipeline_name=pipeline_name,
        new_status_id=new_id,
        new_status_label=new_label,
        new_status_type=outcome,
        new_pipeline_id=pipeline_id,
        new_pipeline_name=pipeline_name,
        opportunity_value=value * 100,  # cents
        opportunity_value_formatted=f"${value:,}",
        opportunity_value_period=rng.choice(("one_time", "monthly", "annual")),
        opportunity_confidence=100 if outcome == "won" else 0,
        opportunity_date_won=won,
    )


def whatsapp(b: DemoBuilder, contact: Obj) -> None:
    """A short WhatsApp conversation logged by an integration, each message answering the last."""
    rng = b.rng
    when = b.sometime()
    numbers = _phones(b.numbers[b.owner["id"]], contact["phones"][0]["phone"], countries=False)
    previous = None
    for index, markdown in enumerate(text.WHATSAPP[: rng.randint(2, 5)]):
        message = b.say((markdown,), contact)
        rendered = re.sub(r"\*(.+?)\*", r"<strong>\1</strong>", html.escape(message))
        rendered = re.sub(r"\b_(.+?)_\b", r"<em>\1</em>", rendered)
        token = f"{rng.getrandbits(80):020X}"
        ident = b.new_id("acti")
        _add(
            b,
            "WhatsAppMessage",
            when,
            id=ident,
            contact_id=contact["id"],
            direction="outgoing" if index % 2 == 0 else "incoming",
            external_whatsapp_message_id=f"wamid.{token}",
            message_markdown=message,
            message_html=f"<p>{rendered}</p>",
            text=message.replace("*", "").replace("_", ""),
            **numbers,
            response_to_id=previous,
            integration_link=f"https://whatsapp-sync.example/messages/{token}",
        )
        previous = ident
        when = b.after(when, 0.02, 8)


def custom(b: DemoBuilder, contact: Obj) -> None:
    """An instance of one of the custom activity types; a draft may leave fields empty."""
    rng = b.rng
    when = b.sometime()
    type_id, field_ids, choices = rng.choice(b.custom_types)
    published = rng.random() < 0.85
    values = {
        f"custom.{field_id}": rng.choice(options)
        for field_id, options in zip(field_ids, choices, strict=True)
        if published or rng.random() < 0.5
    }
    status = {
        "status": "published" if published else "draft",
        "last_published_at": when if published else None,
    }
    _add(
        b,
        "CustomActivity",
        when,
        contact_id=contact["id"],
        custom_activity_type_id=type_id,
        **status,
        **values,
    )


def form_submission(b: DemoBuilder, contact: Obj, when: datetime) -> None:
    """The website form that created the lead, sent by the contact (no user made it)."""
    form_id, configuration_id, field_ids = b.form
    address = contact["emails"][0]["email"]
    answers = (contact["name"], address, b.words["company"], b.words["seats"], b.rng.random() < 0.5)
    site = "https://www.close-demo.example"
    _add(
        b,
        "FormSubmission",
        when,
        contact_id=contact["id"],
        form_id=form_id,
        form_configuration_id=configuration_id,
        values=dict(zip(field_ids, answers, strict=True)),
        values_by_name=dict(zip(FORM_FIELDS, answers, strict=True)),
        ip_address=f"198.51.100.{b.rng.randint(1, 254)}",
        origin=site,
        source_url=f"{site}/demo?utm_source=google&utm_campaign=brand",
        source_url_normalized="close-demo.example/demo",
    )
