"""The sans-I/O core (``closeasync.pipeline.wire``): values in, values out, no transport.

Query encoding, request building (with the long-URL fallback), error decoding and
the rate-limit headers are pure functions, so every case here builds its input by
hand (``Response(status, headers, body, request)``) and checks the exact output.
"""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote

import orjson
import pytest

from closeasync import errors
from closeasync.pipeline.ratelimit import (
    RateLimit,
    get_header,
    parse_rate_limit,
    parse_retry_after,
    read_rate_limit,
    retry_delay,
)
from closeasync.pipeline.routes import ROUTES, Route
from closeasync.pipeline.wire import (
    MAX_URL_LENGTH,
    QueryValue,
    Request,
    Response,
    build_request,
    decode_error,
    encode_query,
)

BASE = "https://close.test/api/v1"
SECRET = "Basic YXBpX1NFQ1JFVDo="
LIST_EMAILS = ROUTES["email"]["list"]
GET_EMAIL = ROUTES["email"]["get"]
UPDATE_EMAIL = ROUTES["email"]["update"]
CREATE_EMAIL = ROUTES["email"]["create"]
LIST_ACTIVITIES = ROUTES["activity"]["list"]
REQUEST = Request(
    "GET",
    f"{BASE}/activity/email/acti_1/?_fields=id",
    (("authorization", SECRET), ("accept", "application/json")),
)
NOW = datetime(2015, 10, 21, 7, 28, 0, tzinfo=UTC)


class Color(enum.Enum):
    RED = "red"


class Level(enum.IntEnum):
    HIGH = 3


def response(status: int, body: bytes = b"", headers: tuple[tuple[str, str], ...] = ()) -> Response:
    return Response(status, headers, body, REQUEST)


# --------------------------------------------------------------------------- encode_query


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        pytest.param({"lead_id": "lead_1"}, "lead_id=lead_1", id="string"),
        pytest.param({"_limit": 100, "_skip": 0}, "_limit=100&_skip=0", id="ints-including-zero"),
        pytest.param({"ratio": 0.5}, "ratio=0.5", id="float"),
        pytest.param({"send_to_inbox": True}, "send_to_inbox=true", id="bool-true"),
        pytest.param({"send_to_inbox": False}, "send_to_inbox=false", id="bool-false"),
        pytest.param({"_type__in": ["Email", "SMS"]}, "_type__in=Email,SMS", id="list-comma-joined"),
        pytest.param({"id__in": ("a", "b")}, "id__in=a,b", id="tuple-comma-joined"),
        pytest.param({"x": [1, True, "a"]}, "x=1,true,a", id="list-of-mixed-scalars"),
        pytest.param({"id__in": {"c", "a", "b"}}, "id__in=a,b,c", id="set-sorted"),
        pytest.param({"id__in": frozenset({"z", "y"})}, "id__in=y,z", id="frozenset-sorted"),
        pytest.param({"flags": {True, False}}, "flags=false,true", id="set-of-bools-sorted-by-wire-text"),
        pytest.param({"color": Color.RED}, "color=red", id="enum-by-value"),
        pytest.param({"level": Level.HIGH}, "level=3", id="int-enum-by-value"),
        pytest.param({"colors": [Color.RED, Color.RED]}, "colors=red,red", id="list-of-enums"),
        pytest.param({"date_created__gt": date(2024, 1, 2)}, "date_created__gt=2024-01-02", id="date"),
        pytest.param(
            {"date_created__gt": datetime(2024, 1, 2, 3, 4, 5)},
            "date_created__gt=2024-01-02T03:04:05",
            id="naive-datetime-no-offset",
        ),
        pytest.param(
            {"date_created__gt": datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)},
            "date_created__gt=2024-01-02T03:04:05%2B00:00",
            id="utc-datetime-plus-encoded",
        ),
        pytest.param(
            {
                "date_created__gt": datetime(
                    2024, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=5, minutes=30))
                )
            },
            "date_created__gt=2024-01-02T03:04:05%2B05:30",
            id="half-hour-offset-kept",
        ),
        pytest.param(
            {"date_created__gt": datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=-4)))},
            "date_created__gt=2024-01-02T03:04:05-04:00",
            id="negative-offset-kept",
        ),
        pytest.param(
            {"date_created__gt": datetime(2024, 1, 2, 3, 4, 5, 123456, tzinfo=UTC)},
            "date_created__gt=2024-01-02T03:04:05.123456%2B00:00",
            id="microseconds-kept",
        ),
        pytest.param({"lead_id": None}, "", id="only-none-is-empty"),
        pytest.param({"a": None, "b": "1", "c": None}, "b=1", id="none-dropped"),
        pytest.param({}, "", id="no-params"),
        pytest.param({"z": 1, "a": 2, "m": 3}, "z=1&a=2&m=3", id="order-preserved"),
    ],
)
def test_encode_query(params: dict[str, Any], expected: str) -> None:
    assert encode_query(params) == expected


@pytest.mark.parametrize(
    ("value", "encoded"),
    [
        pytest.param("a b", "a%20b", id="space-as-percent-20-not-plus"),
        pytest.param("a&b", "a%26b", id="ampersand"),
        pytest.param("a=b", "a%3Db", id="equals"),
        pytest.param("a/b", "a%2Fb", id="slash"),
        pytest.param("a+b", "a%2Bb", id="plus"),
        pytest.param("a?b#c", "a%3Fb%23c", id="question-and-hash"),
        pytest.param("100%", "100%25", id="percent"),
        pytest.param("café", "caf%C3%A9", id="non-ascii-utf8"),
        pytest.param("\U0001f600", "%F0%9F%98%80", id="non-bmp"),
        pytest.param("a,b:c", "a,b:c", id="comma-and-colon-left-readable"),
    ],
)
def test_encode_query_percent_encodes_values(value: str, encoded: str) -> None:
    assert encode_query({"q": value}) == f"q={encoded}"


def test_encode_query_percent_encodes_names() -> None:
    assert encode_query({"a b&c": "1"}) == "a%20b%26c=1"


def test_encode_query_list_items_are_encoded() -> None:
    assert encode_query({"to": ["a b", "c&d"]}) == "to=a%20b,c%26d"


@pytest.mark.parametrize(
    "empty",
    [pytest.param([], id="list"), pytest.param((), id="tuple"), pytest.param(set(), id="set")],
)
def test_encode_query_refuses_empty_list_naming_the_parameter(empty: Any) -> None:
    with pytest.raises(errors.InvalidRequestError) as info:
        encode_query({"lead_id": "lead_1", "id__in": empty})
    assert list(info.value.field_errors) == ["id__in"]
    assert "id__in" in str(info.value)


# --------------------------------------------------------------------------- build_request


def test_build_request_url_is_base_route_path_and_query() -> None:
    request = build_request(
        GET_EMAIL,
        base_url=BASE + "/",  # a trailing slash on the base is not doubled
        path_params={"id": "acti_1"},
        query={"_fields": "id,subject", "x": None},
    )
    assert request.method == "GET"
    assert request.url == f"{BASE}/activity/email/acti_1/?_fields=id,subject"
    assert request.content is None
    assert request.header("content-type") is None
    assert request.route is GET_EMAIL


def test_build_request_without_query_has_no_question_mark() -> None:
    request = build_request(LIST_EMAILS, base_url=BASE, query={"lead_id": None})
    assert request.url == f"{BASE}/activity/email/"


@pytest.mark.parametrize(
    ("ident", "segment"),
    [
        pytest.param("acti_1", "acti_1", id="plain"),
        pytest.param("a/b", "a%2Fb", id="slash"),
        pytest.param("../../lead", "..%2F..%2Flead", id="dot-dot-slash"),
        pytest.param("a?x=1", "a%3Fx%3D1", id="query-start"),
        pytest.param("a#b", "a%23b", id="fragment"),
        pytest.param("a%2Fb", "a%252Fb", id="pre-encoded-slash"),
        pytest.param("a b", "a%20b", id="space"),
    ],
)
def test_build_request_quotes_path_ids(ident: str, segment: str) -> None:
    request = build_request(GET_EMAIL, base_url=BASE, path_params={"id": ident})
    assert request.url == f"{BASE}/activity/email/{segment}/"
    # Whatever the id, the URL has exactly the template's path segments.
    assert request.url.removeprefix(BASE).count("/") == GET_EMAIL.template.count("/")
    assert "?" not in request.url
    assert "#" not in request.url


@pytest.mark.parametrize(
    "ident",
    [
        pytest.param("", id="empty"),
        pytest.param("   ", id="blank"),
        pytest.param(".", id="dot"),
        pytest.param("..", id="dot-dot"),
        pytest.param(None, id="none"),
    ],
)
def test_build_request_refuses_empty_or_relative_ids(ident: Any) -> None:
    with pytest.raises(errors.InvalidRequestError) as info:
        build_request(GET_EMAIL, base_url=BASE, path_params={"id": ident})
    assert list(info.value.field_errors) == ["id"]


def test_build_request_json_body_and_content_type() -> None:
    request = build_request(
        UPDATE_EMAIL,
        base_url=BASE,
        path_params={"id": "acti_1"},
        json={"subject": "Café", "to": ["a@example.com"], "send_in": 0},
        headers=(("authorization", SECRET),),
    )
    assert request.method == "PUT"
    assert request.content == '{"subject":"Café","to":["a@example.com"],"send_in":0}'.encode()
    assert request.headers == (("authorization", SECRET), ("content-type", "application/json"))
    assert request.json() == {"subject": "Café", "to": ["a@example.com"], "send_in": 0}


def test_build_request_empty_json_object_is_still_a_body() -> None:
    request = build_request(CREATE_EMAIL, base_url=BASE, json={})
    assert request.content == b"{}"
    assert request.header("Content-Type") == "application/json"


def test_max_url_length_is_closes_documented_limit() -> None:
    assert MAX_URL_LENGTH == 2000


def _padding_for(route: Route, target_length: int, name: str = "id__in") -> str:
    """A value that makes the GET URL for ``{name: value}`` exactly ``target_length`` long."""
    prefix = f"{BASE}{route.template}?{name}="
    return "a" * (target_length - len(prefix))


@pytest.mark.parametrize(
    "length",
    [
        pytest.param(MAX_URL_LENGTH - 1, id="one-under-limit"),
        pytest.param(MAX_URL_LENGTH, id="exactly-at-limit"),
    ],
)
def test_get_at_or_under_the_url_limit_stays_a_get(length: int) -> None:
    value = _padding_for(LIST_ACTIVITIES, length)
    request = build_request(LIST_ACTIVITIES, base_url=BASE, query={"id__in": value})
    assert len(request.url) == length
    assert request.method == "GET"
    assert request.url.endswith(f"?id__in={value}")
    assert request.content is None
    assert request.header("x-http-method-override") is None


def test_get_one_over_the_url_limit_becomes_post_with_override() -> None:
    value = _padding_for(LIST_ACTIVITIES, MAX_URL_LENGTH + 1)
    request = build_request(
        LIST_ACTIVITIES,
        base_url=BASE,
        query={"id__in": value},
        headers=(("authorization", SECRET),),
    )
    assert request.method == "POST"
    assert request.url == f"{BASE}/activity/"
    assert request.header("x-http-method-override") == "GET"
    assert request.header("content-type") == "application/json"
    assert request.header("authorization") == SECRET
    assert orjson.loads(request.content or b"") == {"_params": {"id__in": value}}
    assert request.route is LIST_ACTIVITIES


def test_long_get_params_keep_wire_strings_and_drop_none() -> None:
    ids = [f"acti_{i:040d}" for i in range(60)]
    when = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    query: dict[str, QueryValue] = {
        "lead_id": "lead_1",
        "id__in": ids,
        "thread_emails": True,
        "date_created__gt": when,
        "_type__in": {"SMS", "Email"},
        "_limit": 100,
        "contact_id": None,
    }
    request = build_request(LIST_ACTIVITIES, base_url=BASE, query=query)
    assert request.method == "POST"
    assert "?" not in request.url
    assert orjson.loads(request.content or b"") == {
        "_params": {
            "lead_id": "lead_1",
            "id__in": ",".join(ids),
            "thread_emails": "true",
            "date_created__gt": "2024-01-02T03:04:05+00:00",  # not percent-encoded in JSON
            "_type__in": "Email,SMS",
            "_limit": "100",
        }
    }


def test_url_limit_counts_the_percent_encoded_length() -> None:
    # 700 spaces are 700 characters raw but 2100 encoded: the URL is too long.
    value = " " * 700
    request = build_request(LIST_ACTIVITIES, base_url=BASE, query={"q": value})
    assert request.method == "POST"
    assert orjson.loads(request.content or b"") == {"_params": {"q": value}}


def test_long_url_on_a_non_get_is_left_alone() -> None:
    value = _padding_for(CREATE_EMAIL, MAX_URL_LENGTH + 50, name="x")
    request = build_request(CREATE_EMAIL, base_url=BASE, query={"x": value}, json={"a": 1})
    assert request.method == "POST"
    assert request.url.endswith(f"?x={value}")
    assert request.header("x-http-method-override") is None
    assert request.json() == {"a": 1}


# --------------------------------------------------------------------------- decode_error


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        pytest.param(400, errors.BadRequestError, id="400-bad-request"),
        pytest.param(401, errors.AuthenticationError, id="401-authentication"),
        pytest.param(402, errors.PaymentRequiredError, id="402-payment-required"),
        pytest.param(403, errors.PermissionDeniedError, id="403-permission-denied"),
        pytest.param(404, errors.NotFoundError, id="404-not-found"),
        pytest.param(405, errors.MethodNotAllowedError, id="405-method-not-allowed"),
        pytest.param(415, errors.UnsupportedMediaTypeError, id="415-unsupported-media-type"),
        pytest.param(429, errors.RateLimitError, id="429-rate-limited"),
        pytest.param(500, errors.ServerError, id="500-server"),
        pytest.param(502, errors.ServerError, id="502-server"),
        pytest.param(503, errors.ServerError, id="503-server"),
        pytest.param(504, errors.ServerError, id="504-server"),
        pytest.param(409, errors.APIError, id="409-unlisted-is-base-APIError"),
        pytest.param(410, errors.APIError, id="410-unlisted-is-base-APIError"),
        pytest.param(422, errors.APIError, id="422-unlisted-is-base-APIError"),
    ],
)
def test_decode_error_maps_status_to_class(status: int, cls: type[errors.APIError]) -> None:
    err = decode_error(response(status, b'{"error": "Something"}'))
    assert type(err) is cls
    assert isinstance(err, errors.APIError)
    assert err.status == status
    assert err.message == "Something"
    assert err.method == "GET"
    assert err.url == REQUEST.url


def test_decode_error_400_with_errors_and_field_errors() -> None:
    body = {"errors": ["Only drafts can be modified."], "field-errors": {"subject": "Too long."}}
    err = decode_error(response(400, orjson.dumps(body)))
    assert isinstance(err, errors.BadRequestError)
    assert err.errors == ["Only drafts can be modified."]
    assert err.field_errors == {"subject": "Too long."}
    assert err.body == body
    assert "Only drafts can be modified." in err.message
    assert "subject: Too long." in err.message


def test_decode_error_400_with_field_errors_alone() -> None:
    err = decode_error(response(400, b'{"field-errors": {"cursor": "Expired cursor"}}'))
    assert isinstance(err, errors.BadRequestError)
    assert err.errors == []
    assert err.field_errors == {"cursor": "Expired cursor"}
    assert err.message == "cursor: Expired cursor"


def test_decode_error_400_keeps_list_and_dict_field_error_values() -> None:
    body = {
        "errors": [],
        "field-errors": {"to": ["Invalid address.", "Too many."], "attachments": {"0": {"url": "Bad url."}}},
    }
    err = decode_error(response(400, orjson.dumps(body)))
    assert isinstance(err, errors.BadRequestError)
    assert err.field_errors == body["field-errors"]
    assert "to: " in err.message
    assert "Invalid address." in err.message
    assert "attachments: " in err.message
    assert "Bad url." in err.message


def test_decode_error_400_live_limit_message() -> None:
    body = b'{"errors": [], "field-errors": {"_limit": "Input should be less than or equal to 200"}}'
    err = decode_error(response(400, body))
    assert isinstance(err, errors.BadRequestError)
    assert err.field_errors == {"_limit": "Input should be less than or equal to 200"}
    assert err.message == "_limit: Input should be less than or equal to 200"


def test_decode_error_400_errors_as_a_string_is_not_split_into_characters() -> None:
    """A lone string under ``errors`` is one message, not a list of characters."""
    err = decode_error(response(400, b'{"errors": "Bad thing"}'))
    assert isinstance(err, errors.BadRequestError)
    assert err.message == "Bad thing"
    assert err.errors == ["Bad thing"]


@pytest.mark.parametrize(
    ("status", "body", "message", "decoded"),
    [
        pytest.param(404, b"", "HTTP 404", None, id="empty"),
        pytest.param(500, b"  \r\n\t ", "HTTP 500", None, id="whitespace"),
        pytest.param(
            502,
            b"<html>\n<body><h1>502 Bad Gateway</h1></body>\n</html>",
            "HTTP 502: <html> <body><h1>502 Bad Gateway</h1></body> </html>",
            "<html>\n<body><h1>502 Bad Gateway</h1></body>\n</html>",
            id="html-from-a-proxy",
        ),
        pytest.param(400, b'{"errors": [', 'HTTP 400: {"errors": [', '{"errors": [', id="invalid-json"),
        pytest.param(400, b'["a", "b"]', "HTTP 400", ["a", "b"], id="json-list"),
        pytest.param(503, b'"maintenance"', "HTTP 503: maintenance", "maintenance", id="json-string"),
        pytest.param(400, b"42", "HTTP 400", 42, id="json-number"),
        pytest.param(
            401, b'{"error": "Unauthorized"}', "Unauthorized", {"error": "Unauthorized"}, id="error"
        ),
        pytest.param(
            400,
            b'{"error": "The request contains invalid JSON."}',
            "The request contains invalid JSON.",
            {"error": "The request contains invalid JSON."},
            id="error-400",
        ),
        pytest.param(500, b'{"error": ""}', "HTTP 500", {"error": ""}, id="empty-error-string"),
        pytest.param(403, b"{}", "HTTP 403", {}, id="empty-object"),
        pytest.param(
            500, b"\xff\xfe oops", "HTTP 500: \ufffd\ufffd oops", "\ufffd\ufffd oops", id="not-utf8"
        ),
    ],
)
def test_decode_error_any_body(status: int, body: bytes, message: str, decoded: Any) -> None:
    err = decode_error(response(status, body))
    assert err.status == status
    assert err.message == message
    assert err.body == decoded
    if isinstance(err, errors.BadRequestError):
        assert err.errors == []
        assert err.field_errors == {}


def test_decode_error_long_html_is_cut_short() -> None:
    page = b"<html>" + b"x" * 5000 + b"</html>"
    err = decode_error(response(502, page))
    assert len(err.message) < 300
    assert err.message.endswith("...")


def test_decode_error_legacy_rate_limit_body() -> None:
    body = {
        "error": {
            "rate_reset": 1,
            "message": "API call count exceeded for this 15 second window",
            "rate_limit": 600,
            "rate_window": 15,
        }
    }
    err = decode_error(response(429, orjson.dumps(body)))
    assert isinstance(err, errors.RateLimitError)
    assert err.message == "API call count exceeded for this 15 second window"
    assert err.retry_after == 1.0
    assert err.rate_limit is None


def test_decode_error_429_reads_headers() -> None:
    headers = (("RateLimit", "limit=100, remaining=0, reset=0.25"), ("Retry-After", "1"))
    err = decode_error(response(429, b"", headers))
    assert isinstance(err, errors.RateLimitError)
    assert err.retry_after == 0.25
    assert err.rate_limit == RateLimit(limit=100, remaining=0, reset=0.25)
    assert err.message == "HTTP 429"


def test_decode_error_429_without_any_hint() -> None:
    err = decode_error(response(429, b"Too Many Requests"))
    assert isinstance(err, errors.RateLimitError)
    assert err.retry_after is None
    assert err.rate_limit is None


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("X-Request-Id", id="canonical"),
        pytest.param("x-request-id", id="lower"),
        pytest.param("X-REQUEST-ID", id="upper"),
        pytest.param("x-Request-iD", id="mixed"),
    ],
)
def test_decode_error_request_id_any_case(name: str) -> None:
    err = decode_error(response(404, b'{"error": "Not found"}', ((name, "req_123"),)))
    assert err.request_id == "req_123"
    assert "req_123" in str(err)


def test_decode_error_without_request_id() -> None:
    assert decode_error(response(404)).request_id is None


def test_error_str_has_status_message_method_and_url_but_no_credentials() -> None:
    err = decode_error(response(404, b'{"error": "Not found"}', (("X-Request-Id", "req_9"),)))
    text = str(err)
    assert text == f"404: Not found (GET {REQUEST.url}) [request req_9]"
    assert SECRET not in text
    assert SECRET not in repr(err)
    assert "YXBp" not in text


def test_decode_error_without_a_request() -> None:
    err = decode_error(Response(500, (), b""))
    assert str(err) == "500: HTTP 500"
    assert err.method == ""
    assert err.url == ""


# --------------------------------------------------------------------------- parse_rate_limit


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        pytest.param(
            (("RateLimit", "limit=100, remaining=50, reset=5"),),
            RateLimit(100, 50, 5),
            id="documented-commas",
        ),
        pytest.param(
            (("ratelimit", "limit=160; remaining=159; reset=8"),),
            RateLimit(160, 159, 8),
            id="observed-semicolons",
        ),
        pytest.param((("RATELIMIT", "limit=1,remaining=2,reset=3"),), RateLimit(1, 2, 3), id="upper-name"),
        pytest.param((("rAtElImIt", "limit=1;remaining=2;reset=3"),), RateLimit(1, 2, 3), id="mixed-name"),
        pytest.param((("RateLimit", "reset=0.25"),), RateLimit(reset=0.25), id="float-reset"),
        pytest.param(
            (("RateLimit", "limit=10.5, remaining=0.0, reset=1.75"),),
            RateLimit(10.5, 0.0, 1.75),
            id="all-floats",
        ),
        pytest.param(
            (("RateLimit", "  limit = 100 ,remaining= 50;  reset =5  "),),
            RateLimit(100, 50, 5),
            id="irregular-spaces",
        ),
        pytest.param(
            (("RateLimit", "reset=5, limit=100, remaining=50"),),
            RateLimit(100, 50, 5),
            id="keys-any-order",
        ),
        pytest.param(
            (("RateLimit", "LIMIT=100, Remaining=50, ReSeT=5"),),
            RateLimit(100, 50, 5),
            id="keys-any-case",
        ),
        pytest.param(
            (("RateLimit", 'limit=100, policy="burst", window=15, remaining=50, reset=5'),),
            RateLimit(100, 50, 5),
            id="unknown-keys-ignored",
        ),
        pytest.param((("RateLimit", 'reset="5"'),), RateLimit(reset=5), id="quoted-value"),
        pytest.param(
            (("RateLimit", "limit=100, remaining=50, reset=abc"),),
            RateLimit(100, 50, None),
            id="non-numeric-reset-ignored",
        ),
        pytest.param(
            (("RateLimit", "limit, remaining=50, reset=5"),),
            RateLimit(None, 50, 5),
            id="key-without-value-ignored",
        ),
        pytest.param(
            (("RateLimit", "=5, remaining=50"),),
            RateLimit(None, 50, None),
            id="value-without-key-ignored",
        ),
        pytest.param(
            (("RateLimit", "limit=-1, remaining=50, reset=-5"),),
            RateLimit(None, 50, None),
            id="negatives-ignored",
        ),
        pytest.param(
            (("RateLimit", "limit=nan, remaining=inf, reset=5"),),
            RateLimit(None, None, 5),
            id="nan-and-inf-ignored",
        ),
        pytest.param(
            (("RateLimit", "limit=100,,; ;remaining=50"),),
            RateLimit(100, 50, None),
            id="empty-items-ignored",
        ),
        pytest.param(
            (("RateLimit", "limit=1, limit=2, reset=3"),),
            RateLimit(1, None, 3),
            id="first-duplicate-wins",
        ),
        pytest.param((("RateLimit", "reset=abc, limit, =5, nonsense"),), None, id="entirely-malformed"),
        pytest.param((("RateLimit", ""),), None, id="empty-value"),
        pytest.param((), None, id="no-headers"),
        pytest.param((("content-type", "application/json"),), None, id="unrelated-headers"),
        pytest.param(
            (("x-rate-limit-limit", "600"), ("x-rate-limit-remaining", "599"), ("x-rate-limit-reset", "15")),
            RateLimit(600, 599, 15),
            id="legacy-x-rate-limit",
        ),
        pytest.param(
            (("X-Rate-Limit-Reset", "2.5"),),
            RateLimit(reset=2.5),
            id="legacy-partial-any-case",
        ),
        pytest.param(
            (("x-rate-limit-limit", "abc"), ("x-rate-limit-reset", "3")),
            RateLimit(reset=3),
            id="legacy-malformed-field-ignored",
        ),
        pytest.param(
            (("RateLimit-Limit", "100"), ("RateLimit-Remaining", "0"), ("RateLimit-Reset", "7")),
            RateLimit(100, 0, 7),
            id="draft-rfc-fields",
        ),
        pytest.param(
            (
                ("x-rate-limit-reset", "99"),
                ("RateLimit", "limit=100, remaining=50, reset=5"),
                ("RateLimit-Reset", "77"),
            ),
            RateLimit(100, 50, 5),
            id="combined-wins-over-legacy-and-draft",
        ),
        pytest.param(
            (("RateLimit", "garbage"), ("x-rate-limit-reset", "4")),
            RateLimit(reset=4),
            id="malformed-combined-falls-back-to-legacy",
        ),
        pytest.param(
            (("x-rate-limit-reset", "4"), ("RateLimit-Reset", "9")),
            RateLimit(reset=4),
            id="x-rate-limit-before-draft",
        ),
    ],
)
def test_parse_rate_limit(headers: tuple[tuple[str, str], ...], expected: RateLimit | None) -> None:
    assert parse_rate_limit(headers) == expected


def test_parse_rate_limit_values_are_floats() -> None:
    parsed = parse_rate_limit((("RateLimit", "limit=100, remaining=50, reset=5"),))
    assert parsed is not None
    assert all(isinstance(v, float) for v in (parsed.limit, parsed.remaining, parsed.reset))


@pytest.mark.parametrize(
    "value",
    [
        "limit=100, remaining=50, reset=5",
        "limit=160; remaining=159; reset=8",
        "LIMIT=1,Remaining=0,RESET=0.250",
        "  limit = 600 ;remaining= 0.0 ,  reset =59.999  ",
        "limit=100, remaining=50, reset=5,",  # a trailing separator: not the usual form
        "limit=1.5e3, remaining=07, reset=.5",  # exponents, leading zeros, no integer part
        "limit=100, remaining=50, reset=5, policy=x",
        "limit=100, remaining=-1, reset=5",
        "limit=१००, remaining=50, reset=5",  # non-ASCII digits: float() takes them, the fast path not
        "limit=100, remaining=0, reset=" + "9" * 400,  # too long for a float: dropped, never inf
        "limit=100, remaining=0, reset=123456789012345.123456789012345",  # the longest the shortcut takes
        "limit=1000000, remaining=999000, reset=0.532",  # Close's own form to the letter
        "limit=160; remaining=159; reset=8.5",
        "limit=160;remaining=159;reset=8",  # no spaces: not Close's exact form
        "limit=160,  remaining=159, reset=8",  # two spaces
        "limit=160, remaining=159, reset=8 ",  # a trailing space
        "Limit=160, remaining=159, reset=8",
        "limit=1234567890123456, remaining=1, reset=1",  # 16 digits: beyond both shortcuts
        "limit=160, remaining=159., reset=8",  # a bare decimal point
        "limit=160 remaining=159 reset=8",  # spaces are no separator
    ],
)
def test_parse_rate_limit_fast_path_agrees_with_the_general_parser(value: str) -> None:
    """Close's usual header takes a shortcut; it must give what the general parser gives."""
    from closeasync.pipeline.ratelimit import _combined_rate_limit, usual_rate_limit

    headers = (("content-type", "application/json"), ("RateLimit", value))
    general = _combined_rate_limit(headers)
    assert parse_rate_limit(headers) == (RateLimit(**general) if general else None)
    usual = usual_rate_limit(value)  # what the pacer reads on every response
    assert usual is None or RateLimit(*usual) == RateLimit(**general)


TRICKY_HEADERS = (
    ("Content-Type", "application/json"),
    ("ratelimit ", "a trailing space"),
    ("\u212aey", "a Kelvin sign: lowercases to k"),
    ("\u0130d", "a dotted capital I: lowercases to two characters"),
    ("RateLimit", "first"),
    ("RATELIMIT", "second"),
    ("X-Request-Id", "req_1"),
)


@pytest.mark.parametrize(
    "name", ["ratelimit", "RateLimit", "key", "KEY", "i\u0307d", "x-request-id", "ratelimit ", "absent", ""]
)
def test_get_header_finds_what_a_plain_case_insensitive_scan_finds(name: str) -> None:
    """The length shortcut for ASCII names changes nothing, even for names whose case folds oddly."""
    plain = next((v for k, v in TRICKY_HEADERS if k.lower() == name.lower()), None)
    assert get_header(TRICKY_HEADERS, name) == plain


def test_get_header_is_case_insensitive_and_takes_the_first() -> None:
    assert get_header(TRICKY_HEADERS, "ratelimit") == "first"
    assert get_header(TRICKY_HEADERS, "KEY") == "a Kelvin sign: lowercases to k"
    assert get_header(TRICKY_HEADERS, "i\u0307d") == "a dotted capital I: lowercases to two characters"
    assert get_header((), "ratelimit") is None


# --------------------------------------------------------------------------- Retry-After


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("3", 3.0, id="integer"),
        pytest.param("0", 0.0, id="zero"),
        pytest.param(" 120 ", 120.0, id="integer-with-spaces"),
        pytest.param("1.5", 1.5, id="float"),
        pytest.param("Wed, 21 Oct 2015 07:28:30 GMT", 30.0, id="http-date-future"),
        pytest.param("Wed, 21 Oct 2015 09:28:20 +0200", 20.0, id="http-date-with-offset"),
        pytest.param("Wed, 21 Oct 2015 07:28:10 -0000", 10.0, id="http-date-unknown-zone-as-utc"),
        pytest.param("Wednesday, 21-Oct-15 07:28:45 GMT", 45.0, id="rfc850-date"),
        pytest.param("Wed, 21 Oct 2015 07:28:00 GMT", 0.0, id="http-date-now"),
        pytest.param("Wed, 21 Oct 2015 07:00:00 GMT", 0.0, id="http-date-past-is-zero"),
        pytest.param("soon", None, id="garbage"),
        pytest.param("", None, id="empty"),
        pytest.param("   ", None, id="blank"),
        pytest.param("-1", None, id="negative"),
        pytest.param("nan", None, id="nan"),
        pytest.param("inf", None, id="inf"),
        pytest.param(None, None, id="none"),
    ],
)
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value, now=NOW) == expected


def test_parse_retry_after_date_defaults_to_the_real_clock() -> None:
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT") == 0.0  # long past


@pytest.mark.parametrize(
    ("headers", "body", "expected"),
    [
        pytest.param(
            (("RateLimit", "limit=100, remaining=0, reset=0.25"), ("Retry-After", "1")),
            b'{"error": {"rate_reset": 5}}',
            0.25,
            id="ratelimit-reset-first",
        ),
        pytest.param(
            (("RateLimit-Reset", "0.5"), ("Retry-After", "1")),
            b"",
            1.0,
            id="retry-after-before-draft-ratelimit-reset",
        ),
        pytest.param(
            (("RateLimit-Reset", "0.5"),),
            b'{"error": {"rate_reset": 5}}',
            0.5,
            id="draft-ratelimit-reset-before-legacy-body",
        ),
        pytest.param(
            (("RateLimit", "limit=100, remaining=0"), ("Retry-After", "2")),
            b'{"error": {"rate_reset": 5}}',
            2.0,
            id="ratelimit-without-reset-then-retry-after",
        ),
        pytest.param(
            (("Retry-After", "Wed, 21 Oct 2015 07:28:12 GMT"),),
            b"",
            12.0,
            id="retry-after-date",
        ),
        pytest.param(
            (("Retry-After", "soon"),),
            b'{"error": {"rate_reset": 3}}',
            3.0,
            id="garbage-retry-after-then-body",
        ),
        pytest.param((), b'{"error": {"rate_reset": 1.5}}', 1.5, id="legacy-body-only"),
        pytest.param((), b'{"error": {"rate_reset": true}}', None, id="legacy-body-bool-ignored"),
        pytest.param((), b'{"error": {"rate_reset": -1}}', None, id="legacy-body-negative-ignored"),
        pytest.param((), b'{"error": {"rate_reset": "1"}}', None, id="legacy-body-string-ignored"),
        pytest.param((), b'{"error": "Too many requests"}', None, id="string-error-body"),
        pytest.param((), b"<html>429</html>", None, id="html-body"),
        pytest.param((), b"", None, id="nothing"),
    ],
)
def test_retry_delay_precedence(
    headers: tuple[tuple[str, str], ...], body: bytes, expected: float | None
) -> None:
    assert retry_delay(response(429, body, headers), now=NOW) == expected


# --------------------------------------------------------------------------- Request / Response


def test_request_repr_never_shows_header_values() -> None:
    request = Request(
        "POST",
        f"{BASE}/activity/email/",
        (("Authorization", SECRET), ("Cookie", "session=s3cr3t"), ("x-custom", "visible-value")),
        b'{"a": 1}',
    )
    text = repr(request)
    assert text == f"<Request POST {BASE}/activity/email/>"
    assert str(request) == text
    for value in (SECRET, "s3cr3t", "visible-value"):
        assert value not in text


def test_response_repr_never_shows_header_values() -> None:
    resp = Response(200, (("Set-Cookie", "session=s3cr3t"),), b"{}", REQUEST)
    text = repr(resp)
    assert text == f"<Response 200 for GET {REQUEST.url}>"
    assert "s3cr3t" not in text
    assert SECRET not in text
    assert repr(Response(204)) == "<Response 204>"


def test_request_redacted_headers_hide_credentials_only() -> None:
    request = Request(
        "GET",
        BASE,
        (
            ("Authorization", SECRET),
            ("cookie", "session=s3cr3t"),
            ("Proxy-Authorization", "Basic cHJveHk="),
            ("Accept", "application/json"),
        ),
    )
    assert request.redacted_headers() == (
        ("Authorization", "<redacted>"),
        ("cookie", "<redacted>"),
        ("Proxy-Authorization", "<redacted>"),
        ("Accept", "application/json"),
    )
    assert request.headers[0] == ("Authorization", SECRET)  # the request itself is unchanged


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("content-type", id="lower"),
        pytest.param("Content-Type", id="title"),
        pytest.param("CONTENT-TYPE", id="upper"),
    ],
)
def test_header_lookup_is_case_insensitive(name: str) -> None:
    headers = (("Content-Type", "application/json"), ("X-Other", "1"))
    assert Request("GET", BASE, headers).header(name) == "application/json"
    assert Response(200, headers).header(name) == "application/json"


def test_header_lookup_missing_is_none_and_first_wins() -> None:
    resp = Response(200, (("X-A", "1"), ("x-a", "2")))
    assert resp.header("x-a") == "1"
    assert resp.header("x-b") is None
    assert Request("GET", BASE).header("authorization") is None


def test_request_json_without_body_is_none() -> None:
    assert Request("GET", BASE).json() is None


@pytest.mark.parametrize(
    "value",
    [
        "acti_1",
        "lead_AbC09",
        "a.b~c-d_e",
        "a/b",
        "a b",
        "a%2Fb",
        "é",
        "a?b#c",
        "a+b",
        "1abc",  # not an identifier (a digit first): the general path, the same result
        "_",
        "__class__",
        "\u2160",  # a Roman numeral: an identifier, but not ASCII
        "...",
        "a" * 300,
    ],
)
def test_route_paths_quote_ids_as_quote_does(value: str) -> None:
    """Plain ids go in as they are; anything else is percent-quoted whole (no path change)."""
    assert ROUTES["email"]["get"].path(id=value) == f"/activity/email/{quote(value, safe='')}/"
    assert ROUTES["email"]["get"].fill({"id": value}) == ROUTES["email"]["get"].path(id=value)
    two = Route("GET", "/x/{a}/y/{b}/")
    assert two.path(a=value, b="z") == f"/x/{quote(value, safe='')}/y/z/"
    assert ROUTES["email"]["list"].path() == "/activity/email/"


@pytest.mark.parametrize("ident", ["", " ", ".", "..", 7, None, b"acti_1"])
def test_route_fill_refuses_what_path_refuses(ident: Any) -> None:
    with pytest.raises(errors.InvalidRequestError):
        ROUTES["email"]["get"].fill({"id": ident})


def test_route_fill_without_the_template_parameter_fails_loudly() -> None:
    with pytest.raises(KeyError):
        ROUTES["email"]["get"].fill({"ident": "acti_1"})


# --------------------------------------------------------------------------- read_rate_limit

RATE_LIMIT_HEADER_SETS: list[tuple[tuple[str, str], ...]] = [
    (),
    (("Content-Type", "application/json"), ("Date", "Sun, 22 Nov 2026 10:00:00 GMT")),
    (("X-Frame-Options", "DENY"),),  # the length of a rate-limit name, another name
    (("RateLimit", "limit=100, remaining=50, reset=5"),),
    (("content-type", "x"), ("ratelimit", "limit=160; remaining=159; reset=8"), ("date", "y")),
    (("RATELIMIT", "limit=1,remaining=2,reset=3"),),
    (("RateLimit", "reset=0.25"),),
    (("RateLimit", "garbage"), ("x-rate-limit-reset", "4")),
    (("x-rate-limit-reset", "4"), ("RateLimit-Reset", "9")),
    (("x-rate-limit-limit", "10"), ("RateLimit", "limit=100, remaining=50, reset=5")),  # usual wins
    (("RateLimit-Limit", "10"), ("RateLimit-Remaining", "3"), ("RateLimit-Reset", "1.5")),
    (("RateLimit", "first=1"), ("RateLimit", "limit=1, remaining=1, reset=1")),  # the first decides
    (("RateLimit", "limit=100, remaining=0, reset=" + "9" * 400),),
    (("RateLimit", "limit=1234567890123456, remaining=1, reset=1"),),
    TRICKY_HEADERS,
]


@pytest.mark.parametrize("headers", RATE_LIMIT_HEADER_SETS)
def test_read_rate_limit_gives_what_parse_rate_limit_gives(headers: tuple[tuple[str, str], ...]) -> None:
    """The pacer's one-pass reader agrees with the general parser on every form, and on none."""
    parsed = parse_rate_limit(headers)
    expected = None if parsed is None else (parsed.limit, parsed.remaining, parsed.reset)
    assert read_rate_limit(headers) == expected


@pytest.mark.parametrize("value", ["limit=100, remaining=50, reset=5", "limit=160; remaining=159; reset=8.5"])
def test_read_rate_limit_finds_the_header_among_many(value: str) -> None:
    noise = tuple((f"x-header-{i}", "v") for i in range(20))
    got = read_rate_limit((*noise, ("RateLimit", value), *noise))
    assert got == read_rate_limit((("RateLimit", value),))
    assert got is not None
    assert all(isinstance(n, float) for n in got)
