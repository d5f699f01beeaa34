"""``closeasync get`` and ``closeasync list``: models as JSON, for a quick look."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ..models import to_json
from ._common import (
    CONNECTION_HELP,
    EXIT_CODES_HELP,
    ExitCode,
    Interrupted,
    add_connection_args,
    count,
    explain,
    fail,
    open_client,
    run_async,
    when,
)

__all__ = ["add_inspect_commands"]

#: ``closeasync get KIND``: the client's resource of each kind (``close.notes`` for ``note``).
_GET_KINDS = {
    "email": "emails",
    "sms": "sms",
    "note": "notes",
    "call": "calls",
    "meeting": "meetings",
    "email_thread": "email_threads",
}
#: ``closeasync list WHAT``: the typed lists (``activities`` is every type at once).
_LIST_KINDS = ("emails", "sms", "notes", "calls", "meetings", "email_threads")

_GET = f"""\
Print one email, SMS, note, call, meeting or email thread as indented JSON: the
fields Close returned, as the SDK's model holds them.

{CONNECTION_HELP}"""
_GET_EPILOG = f"""\
examples:
  closeasync get email acti_abc
  closeasync get sms acti_abc --fields id,status,text
  closeasync get note acti_abc

{EXIT_CODES_HELP}"""
_LIST = f"""\
Print emails, SMS, notes, calls, meetings, email threads or activities of every
type, newest first, one JSON object per line (JSON Lines), as the SDK's models hold
them. For a whole history, with resume, use `closeasync export`.

{CONNECTION_HELP}"""
_LIST_EPILOG = f"""\
examples:
  closeasync list emails --lead lead_abc --limit 5
  closeasync list notes --lead lead_abc --fields id,note
  closeasync list activities --lead lead_abc --type Call --type Note
  closeasync list sms --since 2026-01-01 --limit 0 | wc -l

{EXIT_CODES_HELP}"""


def _field_names(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names:
        raise argparse.ArgumentTypeError("give field names separated by commas, e.g. id,status")
    return names


_field_names.__name__ = "fields"


def add_inspect_commands(commands: Any) -> None:
    formatter = argparse.RawDescriptionHelpFormatter
    get: argparse.ArgumentParser = commands.add_parser(
        "get",
        help="print one activity (email, SMS, note, call, meeting, thread) as JSON",
        description=_GET,
        epilog=_GET_EPILOG,
        formatter_class=formatter,
    )
    get.add_argument("kind", choices=tuple(_GET_KINDS), help="what to get")
    get.add_argument("id", help="its id (acti_...)")
    get.add_argument("--fields", type=_field_names, metavar="A,B", help="only these fields")
    add_connection_args(get)
    get.set_defaults(run=_run_get, parser=get)

    listing: argparse.ArgumentParser = commands.add_parser(
        "list",
        help="print emails, SMS, notes, calls, meetings, threads or activities as JSON Lines",
        description=_LIST,
        epilog=_LIST_EPILOG,
        formatter_class=formatter,
    )
    listing.add_argument("what", choices=(*_LIST_KINDS, "activities"), help="what to list")
    listing.add_argument("--lead", metavar="ID", help="only this lead")
    listing.add_argument("--user", metavar="ID", help="only this user")
    listing.add_argument(
        "--type",
        action="append",
        default=[],
        metavar="TYPE",
        help="activities only: this type, e.g. Email, Call, Custom, or an actitype_ id (repeatable)",
    )
    listing.add_argument("--since", type=when, metavar="WHEN", help="created at or after (date or datetime)")
    listing.add_argument("--until", type=when, metavar="WHEN", help="created before (date or datetime)")
    listing.add_argument("--fields", type=_field_names, metavar="A,B", help="only these fields")
    listing.add_argument(
        "--limit",
        type=count(0),
        default=20,
        metavar="N",
        help="at most N items, 0 for all (default: %(default)s)",
    )
    add_connection_args(listing)
    listing.set_defaults(run=_run_list, parser=listing)


def _run_get(args: argparse.Namespace) -> int:
    async def main() -> int:
        async with open_client(args) as close:
            resource = getattr(close, _GET_KINDS[args.kind])
            model = await resource.get(args.id, fields=args.fields)
        print(to_json(model, indent=True), flush=True)
        return 0

    return _guarded("get", args, main)


def _run_list(args: argparse.Namespace) -> int:
    filters: dict[str, Any] = {}
    if args.lead:
        filters["lead_id"] = args.lead
    if args.user:
        filters["user_id"] = args.user
    if args.since:
        filters["date_created__gte"] = args.since
    if args.until:
        filters["date_created__lt"] = args.until
    if args.type and args.what != "activities":
        return fail("list", ExitCode.USAGE, f"--type is for activities, not {args.what}")
    page_size = min(args.limit, 100) if args.limit else 100

    async def main() -> int:
        async with open_client(args) as close:
            listing: Any
            if args.what == "activities":
                listing = close.activities.list(
                    types=args.type or None, fields=args.fields, page_size=max(page_size, 2), **filters
                )
            else:
                resource = getattr(close, args.what)
                listing = resource.list(fields=args.fields, page_size=max(page_size, 2), **filters)
            shown = 0
            async for model in listing:
                sys.stdout.write(to_json(model) + "\n")
                shown += 1
                if shown == args.limit:
                    break
            sys.stdout.flush()
        return 0

    return _guarded("list", args, main)


def _guarded(command: str, args: argparse.Namespace, main: Any) -> int:
    try:
        return run_async(main)
    except Interrupted as exc:
        print(f"closeasync {command}: interrupted ({exc})", file=sys.stderr, flush=True)
        return exc.code
    except Exception as exc:  # every error becomes a message and an exit status
        known = explain(exc, args.base_url, listing=(command == "list"))
        if known is None:
            raise
        return fail(command, *known)
