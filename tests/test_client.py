"""The client's lifecycle, options and credentials, at the transport seam."""

from __future__ import annotations

import logging

import pytest

from closeasync import (
    AuthenticationError,
    ClientClosedError,
    CloseAsync,
    ConfigurationError,
    NotFoundError,
    Timeout,
)
from tests.conftest import API_KEY, StubTransport, json_response


def test_no_credentials_is_a_configuration_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without api_key, oauth_token or CLOSE_API_KEY the client refuses to start."""
    monkeypatch.delenv("CLOSE_API_KEY", raising=False)
    with pytest.raises(ConfigurationError, match="CLOSE_API_KEY"):
        CloseAsync()


async def test_api_key_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """CLOSE_API_KEY is used when no credential is passed."""
    monkeypatch.setenv("CLOSE_API_KEY", "api_fromenv")
    stub = StubTransport()
    stub.handler = lambda r: json_response({"_type": "Email", "id": "acti_1"})
    async with CloseAsync(transport=stub) as close:
        await close.emails.get("acti_1")
    assert stub.last.header("Authorization") == "Basic YXBpX2Zyb21lbnY6"  # base64("api_fromenv:")


@pytest.mark.parametrize(
    "kwargs",
    [
        {"api_key": "api_x", "oauth_token": "tok"},
        {"api_key": ""},
        {"api_key": "api_x\r\nX-Injected: 1"},
        {"oauth_token": "  "},
        {"api_key": "api_x", "timeout": -1},
        {"api_key": "api_x", "transport": StubTransport(), "session": object()},
        {"api_key": "api_x", "base_url": "ftp://api.close.com/api/v1"},
        {"api_key": "api_x", "base_url": "http:///api/v1"},
        {"api_key": "api_x", "base_url": "api.close.com/api/v1"},
        {"api_key": "api_x", "base_url": "http://[::1/api/v1"},
        {"api_key": "api_x", "base_url": "http://127.0.0.1:99999/api/v1"},
        {"api_key": "api_x", "base_url": "https://api.close.com/api/v1#top"},
        {"api_key": "api_x", "base_url": "https://user:hunter2@api.close.com/api/v1"},
    ],
    ids=[
        "both",
        "empty",
        "header-injection",
        "blank-token",
        "negative-timeout",
        "transport-and-session",
        "base-url-scheme",
        "base-url-no-host",
        "base-url-relative",
        "base-url-unclosed-ipv6",
        "base-url-port-out-of-range",
        "base-url-fragment",
        "base-url-credentials",
    ],
)
def test_bad_arguments_are_refused(kwargs: dict[str, object]) -> None:
    """Conflicting or malformed arguments raise ConfigurationError up front, without echoing secrets."""
    with pytest.raises(ConfigurationError) as refused:
        CloseAsync(**kwargs)  # type: ignore[arg-type]  # deliberately bad arguments
    assert "hunter2" not in str(refused.value)


async def test_closed_client_refuses_requests_and_sends_nothing() -> None:
    """After aclose() every call raises ClientClosedError and no request leaves."""
    stub = StubTransport()
    async with CloseAsync(api_key=API_KEY, transport=stub) as close:
        pass
    assert close.closed
    with pytest.raises(ClientClosedError, match="closed"):
        await close.emails.get("acti_1")
    with pytest.raises(ClientClosedError):
        await close.emails.list().collect()
    with pytest.raises(ClientClosedError):
        async with close:
            pass
    assert stub.requests == []


async def test_given_transport_is_closed_with_the_client() -> None:
    """Like httpx, the client closes the transport it was given (so cassettes get saved)."""
    stub = StubTransport()
    async with CloseAsync(api_key=API_KEY, transport=stub):
        assert not stub.closed
    assert stub.closed


async def test_aclose_is_idempotent() -> None:
    """Closing twice is harmless."""
    close = CloseAsync(api_key=API_KEY, transport=StubTransport())
    await close.aclose()
    await close.aclose()
    assert close.closed


async def test_with_options_overrides_timeout_per_call(stub: StubTransport, close: CloseAsync) -> None:
    """with_options(timeout=) changes the timeout of the view's requests only."""
    stub.handler = lambda r: json_response({"_type": "Email", "id": "acti_1"})
    fast = close.with_options(timeout=Timeout(total=2, connect=1, read=1))
    await fast.emails.get("acti_1")
    await close.emails.get("acti_1")
    assert stub.requests[0].timeout == Timeout(total=2, connect=1, read=1)
    assert stub.requests[1].timeout == close.timeout == Timeout()
    assert fast.transport is close.transport


async def test_with_options_view_shares_closed_state(stub: StubTransport, close: CloseAsync) -> None:
    """Closing the client closes its views too (they share one connection pool)."""
    view = close.with_options(timeout=5)
    await close.aclose()
    with pytest.raises(ClientClosedError):
        await view.emails.get("acti_1")


async def test_tz_offset_header(stub: StubTransport) -> None:
    """tz_offset is sent as X-TZ-Offset (half hours allowed)."""
    stub.handler = lambda r: json_response({"_type": "Email", "id": "acti_1"})
    async with CloseAsync(api_key=API_KEY, transport=stub, tz_offset=-2.5) as close:
        await close.emails.get("acti_1")
    assert stub.last.header("x-tz-offset") == "-2.5"


async def test_base_url_is_used(stub: StubTransport) -> None:
    """base_url points every request elsewhere (a trailing slash is fine)."""
    stub.handler = lambda r: json_response({})
    async with CloseAsync(api_key=API_KEY, transport=stub, base_url="http://127.0.0.1:9/x/") as close:
        await close.emails.delete("acti_1")
    assert stub.last.url == "http://127.0.0.1:9/x/activity/email/acti_1/"


async def test_base_url_from_environment(stub: StubTransport, monkeypatch: pytest.MonkeyPatch) -> None:
    """CLOSE_BASE_URL is read as CLOSE_API_KEY is, so a script meant for a fake never goes to Close."""
    monkeypatch.setenv("CLOSE_BASE_URL", "http://127.0.0.1:9/fake/api/v1")
    stub.handler = lambda r: json_response({})
    async with CloseAsync(api_key=API_KEY, transport=stub) as close:
        assert close.base_url == "http://127.0.0.1:9/fake/api/v1"
        await close.emails.delete("acti_1")
    assert stub.last.url == "http://127.0.0.1:9/fake/api/v1/activity/email/acti_1/"
    # An explicit base_url wins over the environment.
    async with CloseAsync(api_key=API_KEY, transport=stub, base_url="https://close.test/api/v1") as close:
        assert close.base_url == "https://close.test/api/v1"


def test_base_url_from_environment_is_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    """A CLOSE_BASE_URL that is no http(s) URL is refused as an argument would be; empty means unset."""
    monkeypatch.setenv("CLOSE_BASE_URL", "ftp://close.test/")
    with pytest.raises(ConfigurationError, match="base_url must be an http"):
        CloseAsync(api_key=API_KEY)
    monkeypatch.setenv("CLOSE_BASE_URL", "")
    assert CloseAsync(api_key=API_KEY).base_url == "https://api.close.com/api/v1"


async def test_secret_never_shown(stub: StubTransport, caplog: pytest.LogCaptureFixture) -> None:
    """The key appears in no repr, str, exception or log line, even on errors."""
    caplog.set_level(logging.DEBUG, logger="closeasync")
    stub.queue(
        json_response({"error": "Unauthorized"}, status=401),
        json_response({"error": "Not found"}, status=404),
    )
    async with CloseAsync(api_key=API_KEY, transport=stub) as close:
        with pytest.raises(AuthenticationError) as auth_error:
            await close.emails.get("acti_1")
        with pytest.raises(NotFoundError) as not_found:
            await close.sms.get("acti_2")
        shown = " ".join(
            [
                repr(close),
                str(close),
                repr(stub.requests),
                str(auth_error.value),
                repr(auth_error.value),
                str(not_found.value),
                repr(vars(auth_error.value)),
                caplog.text,
            ]
        )
    assert caplog.text  # requests were logged
    token = stub.requests[0].header("authorization")
    assert token is not None
    assert token.startswith("Basic ")
    assert API_KEY not in shown
    assert token.split()[1] not in shown


@pytest.mark.parametrize(
    "url",
    ["https://api.close.com/api/v1?api_key=api_SECRET", "https://api.close.com/api/v1#api_SECRET"],
)
def test_a_base_url_with_a_query_or_fragment_is_refused_without_echoing_it(url: str) -> None:
    """A key pasted into the URL is not repeated in the error (its message, args or repr)."""
    with pytest.raises(ConfigurationError, match="no query string or fragment") as refused:
        CloseAsync(api_key=API_KEY, base_url=url)
    assert "SECRET" not in repr(refused.value)
    assert "SECRET" not in str(refused.value.args)
