"""Build complete Email and SMS objects the way Close returns them, from request bodies.

Close answers every read with the full object (all fields its schema requires),
so the fake stores full objects and fills what a body leaves out with Close's
defaults: ``null``, empty lists, ``direction`` from the status.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from email.utils import format_datetime as rfc2822
from email.utils import parseaddr
from typing import Any

from ..models._converter import format_datetime

__all__ = ["email_object", "format_phone", "sms_object", "stamp_sent"]

_EMAIL_DEFAULTS: dict[str, Any] = {
    "contact_id": None,
    "subject": None,
    "body_text": "",
    "body_html": "",
    "sender": None,
    "to": [],
    "cc": [],
    "bcc": [],
    "envelope": None,
    "attachments": [],
    "date_scheduled": None,
    "date_sent": None,
    "in_reply_to_id": None,
    "message_ids": [],
    "references": [],
    "has_reply": False,
    "opens": [],
    "opens_summary": None,
    "send_attempts": [],
    "need_smtp_credentials": False,
    "send_as_id": None,
    "email_account_id": None,
    "template_id": None,
    "template_name": None,
    "bulk_email_action_id": None,
    "followup_sequence_id": None,
    "followup_sequence_delay": None,
    "followup_sequence_add_cc_bcc": False,
    "sequence_id": None,
    "sequence_name": None,
    "sequence_subscription_id": None,
}
_SMS_DEFAULTS: dict[str, Any] = {
    "contact_id": None,
    "text": "",
    "local_phone": None,
    "remote_phone": None,
    "attachments": [],
    "date_scheduled": None,
    "date_sent": None,
    "template_id": None,
    "cost": None,
    "error_message": None,
    "sequence_id": None,
    "sequence_name": None,
    "sequence_subscription_id": None,
}
#: Request-only fields: they steer the fake but are not part of the stored object.
CONTROL_FIELDS = frozenset({"send_in", "followup_date"})


def base_fields(
    *, kind: str, ident: str, org: str, user: Mapping[str, Any], now: datetime, lead_id: str | None
) -> dict[str, Any]:
    """The fields every activity has, for one created now by ``user``."""
    stamp = format_datetime(now)
    return {
        "_type": kind,
        "id": ident,
        "organization_id": org,
        "lead_id": lead_id,
        "contact_id": None,  # required on every activity (ActivityBase), null when none
        "user_id": user["id"],
        "user_name": user["name"],
        "users": [],
        "created_by": user["id"],
        "created_by_name": user["name"],
        "updated_by": user["id"],
        "updated_by_name": user["name"],
        "date_created": stamp,
        "date_updated": stamp,
        "activity_at": stamp,
    }


def _preview(text: str | None) -> str:
    return " ".join((text or "").split())[:200]


def email_object(base: dict[str, Any], body: Mapping[str, Any], thread_id: str) -> dict[str, Any]:
    """A full Email from a create body (already validated)."""
    email = {**base, **_EMAIL_DEFAULTS}
    email.update({k: v for k, v in body.items() if k not in CONTROL_FIELDS and k != "opens"})
    email["opens"] = [
        {"ip_address": None, "opened_at": o.get("opened_at"), "opened_by": None, "user_agent": None}
        for o in body.get("opens") or []
    ]
    email["direction"] = "incoming" if email["status"] == "inbox" else "outgoing"
    email["thread_id"] = thread_id
    email["body_preview"] = _preview(email.get("body_text"))
    if email["status"] in ("inbox", "sent") and email.get("date_sent") is None:
        email["date_sent"] = email["activity_at"]
    for key in ("to", "cc", "bcc", "attachments"):
        if email.get(key) is None:
            email[key] = []
    return email


def _identity(address: str) -> dict[str, str]:
    name, addr = parseaddr(address)
    return {"email": addr or address, "name": name}


def stamp_sent(message: dict[str, Any], now: datetime, message_id: str) -> None:
    """Mark an Email or SMS as sent now (Close fills these when it delivers)."""
    stamp = format_datetime(now)
    message.update(status="sent", date_sent=stamp, activity_at=stamp, date_updated=stamp, date_scheduled=None)
    if message["_type"] != "Email":
        message["cost"] = message.get("cost") or "1"
        return
    sender = message.get("sender") or ""
    message["message_ids"] = [message_id]
    message["envelope"] = {
        "from": [_identity(sender)],
        "sender": [_identity(sender)],
        "to": [_identity(a) for a in message.get("to") or []],
        "cc": [_identity(a) for a in message.get("cc") or []],
        "bcc": [_identity(a) for a in message.get("bcc") or []],
        "reply_to": [],
        "date": rfc2822(now),
        "subject": message.get("subject"),
        "message_id": message_id,
        "in_reply_to": None,
        "is_autoreply": False,
    }


def format_phone(phone: str | None) -> tuple[str | None, str | None]:
    """Close's display form and country of an E.164 number (NANP numbers only)."""
    if phone and phone.startswith("+1") and len(phone) == 12 and phone[1:].isdigit():
        return f"+1 {phone[2:5]}-{phone[5:8]}-{phone[8:]}", "US"
    return phone, None


def sms_object(base: dict[str, Any], body: Mapping[str, Any], media_id: Any) -> dict[str, Any]:
    """A full SMS from a create body (already validated); ``media_id()`` names attachments."""
    sms = {**base, **_SMS_DEFAULTS}
    sms.update({k: v for k, v in body.items() if k not in CONTROL_FIELDS})
    sms["direction"] = body.get("direction") or ("inbound" if sms["status"] == "inbox" else "outbound")
    sms["source"] = body.get("source") or ("External" if sms["status"] in ("inbox", "sent") else "Close.io")
    sms["attachments"] = [sms_attachment(sms["id"], a, media_id()) for a in body.get("attachments") or []]
    refresh_phones(sms)
    if sms["status"] in ("inbox", "sent") and sms.get("date_sent") is None:
        sms["date_sent"] = sms["activity_at"]
    return sms


def sms_attachment(activity_id: str, given: Mapping[str, Any], media_id: str) -> dict[str, Any]:
    """An MMS attachment as Close shows it: served from Close, with a media id."""
    url = f"https://app.close.com/go/sms/{activity_id}/media/{media_id}/"
    image = str(given.get("content_type", "")).startswith("image/")
    return {
        "content_type": given.get("content_type"),
        "filename": given.get("filename"),
        "media_id": media_id,
        "size": given.get("size"),
        "thumbnail_url": f"{url}thumbnail/" if image else None,
        "url": url,
    }


def refresh_phones(sms: dict[str, Any]) -> None:
    """Recompute the formatted phone fields after the numbers change."""
    for side in ("local", "remote"):
        formatted, country = format_phone(sms.get(f"{side}_phone"))
        sms[f"{side}_phone_formatted"] = formatted
        sms[f"{side}_country_iso"] = country
