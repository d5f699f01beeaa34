"""The README's Quick start, runnable as it stands.

It changes data (it creates, sends and deletes an email and an SMS), so point it at a fake
Close (or a sandbox organization), never at your production account:

    closeasync serve --demo          # prints base_url and api_key
    export CLOSE_BASE_URL=http://127.0.0.1:8000/api/v1 CLOSE_API_KEY=<the api_key it printed>
    python examples/quickstart.py
"""

import asyncio
from datetime import UTC, datetime, timedelta

from closeasync import CloseAsync, SyncCursor


async def main() -> None:
    # The key and the API root come from CLOSE_API_KEY and CLOSE_BASE_URL here;
    # or pass api_key="api_..." (or oauth_token="...") and base_url="..." yourself.
    async with CloseAsync() as close:
        # Something to work on: the newest email and the lead it belongs to.
        [newest] = await close.emails.list().limit(1).collect()
        lead_id = newest.lead_id
        assert lead_id is not None, "every email belongs to a lead"

        # Read one email again, or only some of its fields.
        email = await close.emails.get(newest.id)
        brief = await close.emails.get(newest.id, fields=["id", "subject"])
        print(email.status, brief.subject)

        # Draft, edit, then send (Close's PUT acts as PATCH).
        me = "Me <me@example.com>"
        draft = await close.emails.create(
            lead_id=lead_id, status="draft", to=email.to, subject="Hi", body_text="Hello there"
        )
        draft = await close.emails.update(draft, subject="Hello")
        sent = await close.emails.send(draft, sender=me)  # draft -> outbox, sent within seconds
        print("sent:", sent.id, sent.status)

        # Schedule for tomorrow, cancel back to draft, delete.
        later = await close.emails.create(lead_id=lead_id, status="draft", to=email.to, subject="Later")
        later = await close.emails.schedule(later, at=datetime.now(UTC) + timedelta(days=1), sender=me)
        later = await close.emails.cancel(later)  # scheduled -> draft
        await close.emails.delete(later)

        # Stream the lead's emails created in the last 30 days, newest first.
        since = datetime.now(UTC) - timedelta(days=30)
        async for email in close.emails.list(lead_id=lead_id, date_created__gt=since):
            print(email.date_created, email.subject)

        # Pages, or a bounded list.
        async for page in close.emails.list(lead_id=lead_id).pages():
            print(page.skip, len(page), page.has_more)
        first_50 = await close.emails.list().limit(50).collect()

        # Up to 8 pages in flight at once: the same emails in the same order, sooner.
        recent = [email.id async for email in close.emails.list(prefetch=8).limit(500)]
        # Fastest over a slow link: 8 pages kept asked for ahead for as long as the block
        # runs (leaving the block, by break or error too, cancels what is still in flight).
        async with close.emails.list(prefetch=8) as emails:
            incoming = [email.id async for email in emails if email.direction == "incoming"]
        print(len(recent), "recent emails,", len(incoming), "incoming in all")

        # Walk the whole history by date_created, each email exactly once (since= also
        # takes a datetime). Save the cursor: passed back as since=, it goes on from there.
        sync = close.emails.sync()
        walked = [email.id async for email in sync]
        saved = sync.cursor.to_json()
        async for email in close.emails.sync(since=SyncCursor.from_json(saved)):
            print("new since then:", email.id)
        print(len(walked), "emails walked")

        # Many at once, bounded; results and failures per item.
        found = await close.emails.get_many([e.id for e in first_50[:10]] + ["acti_missing"], concurrency=8)
        print(len(found.ok), "found;", list(found.errors))  # {id: Email}, {id: exception}
        created = await close.emails.create_many(
            [{"lead_id": lead_id, "status": "draft", "subject": f"Hi {n}"} for n in range(3)]
        )
        created.raise_errors()  # or look at created.errors: {position: exception}

        # SMS has the same methods: answer the newest text message, from the same number.
        [text] = await close.sms.list().limit(1).collect()
        assert text.lead_id is not None
        await close.sms.create(
            status="outbox",
            lead_id=text.lead_id,
            local_phone=text.local_phone,
            remote_phone=text.remote_phone,
            text="See you at 3pm",
        )

        # Every activity type of one lead, each as its own model.
        async for activity in close.activities.list(lead_id=lead_id, types=["Email", "SMS", "Call"]):
            print(type(activity).__name__, activity.id)


asyncio.run(main())
