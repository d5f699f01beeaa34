"""The phrase bank of the demo data: names, subjects and sentences to build realistic text from.

Everything here is invented. Email domains use the reserved ``.example`` top-level
domain and phone numbers the ``555-01xx`` range set aside for fiction, so nothing
in the demo points at a real company, mailbox or phone.
"""

from __future__ import annotations

__all__ = [
    "AREA_CODES",
    "CALL_NOTES",
    "CLOSINGS",
    "COMPANY_ROOTS",
    "COMPANY_SUFFIXES",
    "COMPANY_TRADES",
    "FIRST_NAMES",
    "FOLLOW_UPS",
    "LAST_NAMES",
    "MEETING_TITLES",
    "NOTES",
    "OPENERS",
    "PARAGRAPHS",
    "REPLIES",
    "SMS_IN",
    "SMS_OUT",
    "SUBJECTS",
    "TASKS",
    "USERS",
    "WHATSAPP",
]


def _split(text: str) -> tuple[str, ...]:
    return tuple(text.split(", "))


#: The organization's sales team besides the key's owner: (name, email).
USERS = (
    ("Maya Lindqvist", "maya@fake.close.test"),
    ("Daniel Okafor", "daniel@fake.close.test"),
    ("Priya Raman", "priya@fake.close.test"),
    ("Tom Becker", "tom@fake.close.test"),
)

COMPANY_ROOTS = _split(
    "Northwind, Bluepeak, Ironbark, Silverline, Redwood, Cobalt, Brightwater, Harbor, Summit, Lakeside, "
    "Granite, Evergreen, Copperleaf, Meridian, Foxglove, Tidewater, Stonebridge, Aurora, Clearpath, "
    "Westfield, Pinecrest, Oakhurst, Kestrel, Highgate, Driftwood, Sterling, Maple & Finch, Beacon, "
    "Juniper, Falcon Ridge, Rivermark, Orchard"
)
COMPANY_TRADES = _split(
    "Logistics, Analytics, Dental Group, Roofing, Software, Health, Capital, Realty, Labs, Manufacturing, "
    "Legal, Marketing, Solar, Foods, Outfitters, Consulting, Insurance, Freight, Robotics, Design Studio, "
    "Medical Supply, Security, Energy"
)
COMPANY_SUFFIXES = ("", "", "", " Inc.", " LLC", " Co.", " Ltd.", " Partners", " Group")

FIRST_NAMES = _split(
    "Olivia, Liam, Emma, Noah, Ava, James, Sophia, Lucas, Isabella, Mateo, Mia, Ethan, Amara, Kenji, Zoe, "
    "Omar, Hannah, Diego, Leila, Samuel, Grace, Arjun, Chloe, Felix, Nadia, Marcus, Ingrid, Tariq, Elena, "
    "Wei, Rosa, Caleb"
)
LAST_NAMES = _split(
    "Johnson, Nguyen, Garcia, Patel, Müller, Kowalski, O'Brien, Santos, Kim, Haddad, Fischer, Rossi, "
    "Andersen, Dubois, Yamamoto, Hughes, Mendes, Novak, Reyes, Clarke, Osei, Larsen, Moreau, Bianchi, "
    "Castillo, Schmidt, Walsh, Iyer, Brennan, Sato"
)
#: US area codes the fake's numbers use (with 555-01xx, the range reserved for fiction).
AREA_CODES = _split("212, 312, 415, 503, 512, 617, 646, 650, 702, 718, 737, 818, 919")

SUBJECTS = (
    "Quick question about {company}",
    "Following up on our call",
    "Pricing for {company}",
    "Intro: Close x {company}",
    "Next steps",
    "Proposal for {company}",
    "Can we find 20 minutes this week?",
    "Your trial of our platform",
    "Onboarding plan for {company}",
    "Contract renewal",
    "Notes from today's demo",
    "Re-connecting",
)
OPENERS = (
    "Hi {first},",
    "Hello {first},",
    "Hey {first},",
    "Good morning {first},",
    "{first},",
)
PARAGRAPHS = (
    "I hope your week is off to a good start. I wanted to follow up on the conversation we had about "
    "how {company} tracks its pipeline today.",
    "Most teams your size tell us they lose hours every week copying notes between their inbox, "
    "their dialer and a spreadsheet. We built our workflow so that every call, email and text lands on "
    "the lead automatically.",
    "I've attached a short summary of what we discussed, including the rough timeline and the "
    "integrations your team asked about.",
    "Would Tuesday or Thursday afternoon work for a 20-minute call? Happy to adjust to your calendar.",
    "On pricing: for a team of {seats} seats we can offer the annual plan with onboarding included. "
    "I can send a formal quote as soon as you confirm the seat count.",
    "A couple of your colleagues joined the webinar last week and had great questions about reporting. "
    "I put together answers below so everyone is on the same page.",
    "No pressure at all if the timing isn't right. If priorities have shifted, just let me know and "
    "I'll check back next quarter.",
    "We just shipped the bulk-edit feature you asked about, so the migration from your current tool "
    "should take an afternoon rather than a week.",
    "Security review: we're SOC 2 Type II certified and can share the report under NDA. Let me know "
    "who on your side should receive it.",
    "For the pilot, I'd suggest starting with the inside sales team and expanding once the first "
    "sequences are live. That keeps the rollout low-risk.",
    "Thanks again for taking the time to walk me through your process. It was really helpful to see "
    "where the handoffs between SDRs and AEs slow things down.",
    "I checked with our support team and the CSV import handles custom fields, so your existing "
    "segments will carry over.",
)
REPLIES = (
    "Thanks for the note. Tuesday at 2pm works for us; please send an invite.",
    "Appreciate the follow-up. We're still evaluating a couple of options and should decide by the end "
    "of the month.",
    "Could you send over the pricing for {seats} seats? Our finance team needs it before the review.",
    "Looping in my colleague who owns the CRM migration. She'll have a few technical questions.",
    "This looks good. Can you confirm whether the annual plan includes phone support?",
    "Sorry for the slow reply, it's been a busy quarter. Let's reconnect next week.",
    "We reviewed the proposal internally and have a few small changes to the contract terms.",
    "Got it, thanks. I'll share this with the team and get back to you.",
)
CLOSINGS = (
    "Best,\n{sender}",
    "Thanks,\n{sender}",
    "Cheers,\n{sender}",
    "Talk soon,\n{sender}",
    "Kind regards,\n{sender}",
)
FOLLOW_UPS = (
    "Just bumping this to the top of your inbox in case it got buried.",
    "Wanted to check in on the proposal before the end of the month.",
    "Circling back on this one. Any update on your side?",
)
SMS_OUT = (
    "Hi {first}, it's {user} from Close. Still good for our call at 3pm?",
    "Thanks for your time today, {first}! Sending the recap by email shortly.",
    "Hi {first}, quick reminder about tomorrow's demo. Here's the link: https://zoom.us/j/5550100",
    "Just sent over the contract. Let me know if anything needs changing.",
    "Running 5 minutes late, sorry! Be right there.",
    "Happy Friday {first}! Any news from the finance team?",
)
SMS_IN = (
    "Yes, 3pm works. Talk then.",
    "Can we push to tomorrow? Something came up.",
    "Got it, thanks!",
    "Who is this?",
    "Signed and sent back. Excited to get started!",
    "Call me when you have a minute.",
    "Here's the screenshot of the error I mentioned.",
)
NOTES = (
    "Spoke with {first}: budget approved for Q{quarter}. Decision maker is the VP of Sales.",
    "Currently using spreadsheets plus a legacy CRM. Main pain point: no call recording.",
    "Met at the SaaStr booth. Interested in the power dialer and SMS.",
    "Asked for a security questionnaire. Sent to legal on our side.",
    "Champion is {first}. Needs buy-in from IT before signing.",
    "Renewal risk: usage dropped 40% last month. Schedule a check-in.",
)
CALL_NOTES = (
    "Discussed timeline, they want to go live before the end of the quarter.",
    "Left a voicemail about the proposal.",
    "Walked through pricing; sending the quote today.",
    "Gatekeeper answered, {first} is out until Monday.",
    "Great call. Next step: technical demo with their ops team.",
    "",
)
MEETING_TITLES = (
    "Discovery call with {company}",
    "{company} <> Close demo",
    "Technical deep dive: {company}",
    "Contract review with {first}",
    "Onboarding kickoff: {company}",
    "Quarterly business review",
)
TASKS = (
    "Follow up",
    "Send the proposal to {first}",
    "Call {first} about the contract",
    "Book a demo with the ops team",
    "Check in after the trial ends",
    "Send the security questionnaire",
)
WHATSAPP = (
    "Hi {first}! Thanks for connecting. Are you the right person to talk to about your sales tooling?",
    "Sure, happy to chat. *Thursday* works best for me.",
    "Here's the deck we discussed: https://example.com/deck.pdf",
    "Perfect, see you then 👍",
    "_Quick reminder:_ our call starts in 15 minutes.",
)
