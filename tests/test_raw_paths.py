"""Paths of ``close.get/post/put/delete/paginate``: relative to ``base_url``, never leaving it.

Whatever the path, an accepted one's URL is the base URL, ``/``, then segments that
are neither ``.`` nor ``..`` once decoded: the credentials go nowhere else.
"""

from __future__ import annotations

import asyncio
import posixpath
import string
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from closeasync import CloseAsync, InvalidRequestError
from tests.conftest import API_KEY, StubTransport, json_response

BASE = "https://close.test/api/v1"


def client(stub: StubTransport) -> CloseAsync:
    return CloseAsync(api_key=API_KEY, transport=stub, base_url=BASE)


@pytest.mark.parametrize(
    "path",
    [
        "",
        "/",
        "   ",
        "https://evil.example/lead/",
        "http://close.test/api/v1/lead/",
        "HTTPS://evil.example",
        "//evil.example/x",
        "///evil.example/x",
        "\\\\evil.example\\x",
        "/\\evil.example/x",
        "mailto:someone@example.com",
        "javascript:alert(1)",
        "file:///etc/passwd",
        "lead:1/",
        "../lead/",
        "/lead/../../x/",
        "lead/./x/",
        "/lead/%2e%2e/x",
        "/%2E%2E/%2e%2e/x/",
        "%2e/lead/",
        "lead/%2f/x",
        "lead/a%2Fb/",
        "lead/a%5cb/",
        "lead//x/",
        "lead/?x=1",
        "lead/#frag",
        "lead/a b/",
        "lead/a%20b/",
        "lead/%0d%0aX-Evil: 1/",
        "lead/\n/",
        "lead/%ff/",
    ],
)
async def test_a_path_that_could_leave_the_base_url_is_refused(stub: StubTransport, path: str) -> None:
    async with client(stub) as close:
        for call in (close.get, close.delete):
            with pytest.raises(InvalidRequestError, match="path"):
                await call(path)
        for write in (close.post, close.put):
            with pytest.raises(InvalidRequestError, match="path"):
                await write(path, json={})
        with pytest.raises(InvalidRequestError, match="path"):
            close.paginate(path)
    assert stub.requests == []


@pytest.mark.parametrize("path", [None, 1, b"/lead/", ["lead"]])
async def test_a_path_must_be_a_string(stub: StubTransport, path: Any) -> None:
    async with client(stub) as close:
        with pytest.raises(InvalidRequestError, match="path"):
            await close.get(path)
    assert stub.requests == []


@pytest.mark.parametrize(
    ("path", "url"),
    [
        ("lead/", "/lead/"),
        ("/lead/", "/lead/"),
        ("/lead", "/lead/"),
        ("lea%64/lead_1", "/lead/lead_1/"),
        ("/lead/%6Cead_1/", "/lead/lead_1/"),
        ("/lead/caf%C3%A9/", "/lead/caf%C3%A9/"),
        ("/lead/café/", "/lead/caf%C3%A9/"),
        ("/lead/a%3Ab/", "/lead/a%3Ab/"),
        ("/lead/100%/", "/lead/100%25/"),
        ("/lead/..x/", "/lead/..x/"),
        ("/lead/.../", "/lead/.../"),
        ("/custom.cf_1/", "/custom.cf_1/"),
        ("@evil.example/x", "/%40evil.example/x/"),  # a segment under the base URL, not a host
    ],
)
async def test_an_accepted_path_is_encoded_once_under_the_base_url(
    stub: StubTransport, path: str, url: str
) -> None:
    async with client(stub) as close:
        await close.get(path)
    assert stub.last.url == BASE + url


async def test_a_trailing_slash_on_the_base_url_changes_nothing(stub: StubTransport) -> None:
    async with CloseAsync(api_key=API_KEY, transport=stub, base_url=BASE + "/") as close:
        await close.get("/lead/")
    assert stub.last.url == f"{BASE}/lead/"


async def test_a_query_in_params_is_sent_after_the_path(stub: StubTransport) -> None:
    async with client(stub) as close:
        await close.get("/lead/", params={"query": "name:acme & more", "_fields": ["id", "name"]})
    assert stub.last.url == f"{BASE}/lead/?query=name:acme%20%26%20more&_fields=id,name"


@pytest.mark.parametrize("params", [["a"], {"": 1}, {1: "x"}, {"lead_id": []}])
async def test_bad_params_are_refused(stub: StubTransport, params: Any) -> None:
    async with client(stub) as close:
        with pytest.raises(InvalidRequestError):
            await close.get("/lead/", params=params)
    assert stub.requests == []


#: Pieces that make paths interesting: separators, dots in every spelling, schemes, hosts.
PIECES = [
    "/",
    "//",
    "\\",
    ".",
    "..",
    "%2e",
    "%2E",
    "%2e%2e",
    "%2f",
    "%2F",
    "%5c",
    "%25",
    "%",
    "%00",
    "%ff",
    "lead",
    "lead_1",
    "acti_AbC9",
    "activity",
    "email",
    ":",
    "http:",
    "https://",
    "evil.example",
    "@",
    "?",
    "#",
    " ",
    "\t",
    "\r\n",
    "~",
    "é",
    "{id}",
    "+",
    ";",
    "=",
]


def _check_accepted(path: str, url: str) -> None:
    assert url.startswith(BASE + "/"), (path, url)
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc) == ("https", "close.test"), (path, url)
    assert not parts.query, (path, url)
    assert not parts.fragment, (path, url)
    segments = parts.path.split("/")
    assert all(unquote(segment) not in (".", "..") for segment in segments), (path, url)
    assert posixpath.normpath(unquote(parts.path)).startswith("/api/v1/"), (path, url)
    assert parts.path.endswith("/"), (path, url)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.one_of(
        st.text(max_size=40),
        st.text(alphabet=string.printable, max_size=40),
        st.lists(st.sampled_from(PIECES), max_size=10).map("".join),
    )
)
@example("/lead/%2e%2e/%2e%2e/%2e%2e/x")
@example("/..%2f..%2f")
@example("%2e%2e")
@example("lead/%252e%252e/")
def test_an_accepted_path_never_leaves_the_base_url(path: str) -> None:
    stub = StubTransport()
    stub.handler = lambda request: json_response({"data": [], "has_more": False})

    async def main() -> None:
        async with client(stub) as close:
            refused: InvalidRequestError | None = None
            try:
                await close.get(path)
            except InvalidRequestError as exc:
                refused = exc
            if refused is not None:
                assert refused.field_errors.keys() == {"path"}
                assert stub.requests == []
                return
            _check_accepted(path, stub.last.url)
            try:
                listing = close.paginate(path)
            except InvalidRequestError:  # pragma: no cover - get accepted it
                pytest.fail(f"paginate refused {path!r}, which get accepted")
            await listing.limit(1).collect()
            _check_accepted(path, stub.last.url.partition("?")[0])

    asyncio.run(main())
