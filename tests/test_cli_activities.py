"""``closeasync get`` and ``closeasync list`` for notes, calls, meetings and email threads,
in-process (``cli.main``) against a demo fake served over HTTP."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from closeasync.cli import ExitCode, main
from closeasync.fake import FakeClose
from closeasync.fake.demo import load_demo
from closeasync.fake.handlers.activities import threads
from tests.served import ServedFake

#: ``closeasync get KIND`` -> the ``_type`` it fetches.
KINDS = {"note": "Note", "call": "Call", "meeting": "Meeting"}


@pytest.fixture(scope="module")
def served() -> Iterator[ServedFake]:
    fake = FakeClose(seed=12)
    load_demo(fake, leads=8)
    with ServedFake(fake) as served:
        yield served


@pytest.fixture(autouse=True)
def _environment(served: ServedFake, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLOSE_API_KEY", served.fake.api_key)
    monkeypatch.setenv("CLOSE_BASE_URL", served.base_url)


def of_type(fake: FakeClose, type_name: str) -> list[dict[str, Any]]:
    return [o for o in fake.activities.values() if o["_type"] == type_name]


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_get_prints_one_as_json(served: ServedFake, capsys: pytest.CaptureFixture[str], kind: str) -> None:
    stored = of_type(served.fake, KINDS[kind])[0]
    assert main(["get", kind, stored["id"]]) == ExitCode.OK
    assert json.loads(capsys.readouterr().out) == stored
    assert main(["get", kind, stored["id"], "--fields", "id,lead_id"]) == ExitCode.OK
    assert json.loads(capsys.readouterr().out) == {"id": stored["id"], "lead_id": stored["lead_id"]}


def test_get_an_email_thread(served: ServedFake, capsys: pytest.CaptureFixture[str]) -> None:
    thread = next(t for t in threads(served.fake.state).values() if t["n_emails"] > 1)
    assert main(["get", "email_thread", thread["id"]]) == ExitCode.OK
    assert json.loads(capsys.readouterr().out) == thread


def test_get_a_note_by_the_id_of_a_call_is_not_found(
    served: ServedFake, capsys: pytest.CaptureFixture[str]
) -> None:
    call = of_type(served.fake, "Call")[0]
    assert main(["get", "note", call["id"]]) == ExitCode.API
    assert "404" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("what", "type_name"), [("notes", "Note"), ("calls", "Call"), ("meetings", "Meeting")]
)
def test_list_a_leads_activities_of_one_type(
    served: ServedFake, capsys: pytest.CaptureFixture[str], what: str, type_name: str
) -> None:
    lead = of_type(served.fake, type_name)[0]["lead_id"]
    assert main(["list", what, "--lead", lead, "--limit", "0"]) == ExitCode.OK
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    expected = sorted(
        (o for o in of_type(served.fake, type_name) if o["lead_id"] == lead),
        key=lambda o: o["date_created"],
        reverse=True,
    )
    assert lines == expected


def test_list_email_threads_with_fields_and_a_limit(
    served: ServedFake, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["list", "email_threads", "--fields", "id,n_emails", "--limit", "3"]) == ExitCode.OK
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    newest = sorted(threads(served.fake.state).values(), key=lambda t: t["date_created"], reverse=True)
    assert lines == [{"id": t["id"], "n_emails": t["n_emails"]} for t in newest[:3]]


def test_type_is_only_for_activities(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list", "notes", "--type", "Call"]) == ExitCode.USAGE
    assert "--type is for activities, not notes" in capsys.readouterr().err


def test_help_names_the_new_kinds(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["get", "--help"]) == ExitCode.OK
    assert "{email,sms,note,call,meeting,email_thread}" in capsys.readouterr().out
    assert main(["list", "--help"]) == ExitCode.OK
    assert "{emails,sms,notes,calls,meetings,email_threads,activities}" in capsys.readouterr().out
