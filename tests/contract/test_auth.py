"""Authentication: API keys (HTTP Basic), OAuth tokens (Bearer), and 401 otherwise."""

from __future__ import annotations

from typing import Any

import pytest

from closeasync import AuthenticationError

from .conftest import OAUTH_TOKEN, Backend, basic

UNAUTHORIZED = (401, {"error": "Unauthorized"})


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        basic("api_wrong_key"),
        "Basic not-base64!",
        "Basic " + "Og==",  # ":" - an empty username
        "Bearer oauth_wrong_token",
        "Bearer ",
        "Token whatever",
    ],
    ids=["missing", "wrong-key", "garbled", "empty-user", "wrong-token", "empty-token", "other-scheme"],
)
async def test_raw_requests_without_a_valid_credential_are_401(
    backend: Backend, lead: dict[str, Any], authorization: str | None
) -> None:
    body = {"lead_id": lead["id"], "status": "draft"}
    for method, path, json in (
        ("GET", "/activity/email/", None),
        ("POST", "/activity/email/", body),
        ("GET", "/activity/", None),
    ):
        raw = await backend.raw(method, path, json=json, auth=authorization)
        assert (raw.status, raw.body) == UNAUTHORIZED
    assert backend.fake.activities == {}


async def test_the_key_is_the_basic_username_and_any_password_is_ignored(backend: Backend) -> None:
    import base64

    with_password = "Basic " + base64.b64encode(f"{backend.fake.api_key}:secret".encode()).decode()
    raw = await backend.raw("GET", "/activity/email/", auth=with_password)
    assert (raw.status, raw.body) == (200, {"data": [], "has_more": False})


async def test_a_client_with_a_wrong_key_gets_authentication_error(
    backend: Backend, lead: dict[str, Any]
) -> None:
    async with backend.client(api_key="api_not_this_one") as close:
        with pytest.raises(AuthenticationError) as refused:
            await close.emails.create(lead_id=lead["id"], status="draft")
        assert (refused.value.status, refused.value.body) == UNAUTHORIZED
        with pytest.raises(AuthenticationError):
            await close.activities.list().collect()
    assert backend.fake.activities == {}


async def test_an_oauth_token_is_accepted_as_bearer(backend: Backend, lead: dict[str, Any]) -> None:
    async with backend.client(oauth_token=OAUTH_TOKEN) as close:
        draft = await close.emails.create(lead_id=lead["id"], status="draft", subject="via OAuth")
        assert [e.id for e in await close.emails.list().collect()] == [draft.id]
    raw = await backend.raw("GET", f"/activity/email/{draft.id}/", auth=f"Bearer {OAUTH_TOKEN}")
    assert (raw.status, raw.body["subject"]) == (200, "via OAuth")
    async with backend.client(oauth_token="oauth_revoked") as close:
        with pytest.raises(AuthenticationError):
            await close.emails.get(draft.id)


async def test_an_unknown_url_is_404_before_authentication(backend: Backend) -> None:
    raw = await backend.raw("GET", "/nothing/here/", auth=None)
    assert (raw.status, raw.body) == (404, {"error": "The requested URL was not found."})
