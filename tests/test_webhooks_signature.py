"""Webhook signatures: sign and verify agree, every kind of bad delivery is refused, and the
signature key never shows in what a refusal raises."""

from __future__ import annotations

import hashlib
import hmac
import pickle
import re
import time
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from multidict import CIMultiDict

from closeasync.errors import CloseError, ConfigurationError
from closeasync.models import Event, to_dict
from closeasync.webhooks import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    WebhookVerificationError,
    sign,
    verify,
    verify_delivery,
)

KEY = "5e" * 32
NOW = 1_767_603_600

#: Keys as Close gives them: hex of random bytes (16+ bytes, so a key's text cannot turn up
#: by chance inside an error's words or numbers).
keys = st.binary(min_size=16, max_size=64).map(bytes.hex)
timestamps = st.integers(min_value=0, max_value=10**11)
json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53), max_value=2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
events = st.fixed_dictionaries(
    {
        "id": st.text(min_size=1, max_size=30).map(lambda s: "ev_" + s),
        "object_type": st.sampled_from(["activity.email", "activity.sms", "lead", "task.lead"]),
        "action": st.sampled_from(["created", "updated", "deleted", "completed"]),
        "object_id": st.text(max_size=30),
        "date_created": st.sampled_from(["2026-01-05T09:00:00.000000", "2026-01-05T09:00:00+00:00", "x"]),
        "data": st.none() | st.dictionaries(st.text(max_size=8), json_values, max_size=5),
        "changed_fields": st.lists(st.text(max_size=10), max_size=3),
    },
    optional={"new_in_2027": json_values, "meta": st.dictionaries(st.text(max_size=8), json_values)},
)


def delivery(event: dict[str, Any], subscription: str = "whsub_1") -> bytes:
    return orjson.dumps({"event": event, "subscription_id": subscription})


def refusal(body: bytes, headers: dict[str, str], key: str, now: float) -> WebhookVerificationError:
    with pytest.raises(WebhookVerificationError) as caught:
        verify(body, headers, key, now=now)
    return caught.value


def chain(error: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    todo: list[BaseException | None] = [error]
    while todo:
        item = todo.pop()
        if item is None or id(item) in seen:
            continue
        seen.add(id(item))
        yield item
        todo += [item.__cause__, item.__context__]


def assert_no_key(error: BaseException, key: str) -> None:
    """The key (any case) is nowhere in the error, its args, attributes, chain or pickle."""
    for item in chain(error):
        texts = [str(item), repr(item), *map(repr, item.args), repr(vars(item))]
        for text in texts:
            assert key.lower() not in text.lower()
    assert list(chain(error)) == [error]  # raised with nothing chained to it
    assert key.encode() not in pickle.dumps(error)


# -- agreement ----------------------------------------------------------------------------


@given(event=events, key=keys, stamp=timestamps, late=st.integers(-300, 300), subscription=st.text())
def test_a_signed_delivery_verifies_and_gives_back_the_event_as_sent(
    event: dict[str, Any], key: str, stamp: int, late: int, subscription: str
) -> None:
    body = delivery(event, subscription)
    headers = sign(body, key, stamp)
    got = verify_delivery(body, headers, key, now=stamp + late)
    assert isinstance(got.event, Event)
    assert to_dict(got.event) == orjson.loads(body)["event"]
    assert got.subscription_id == subscription
    assert got.timestamp == stamp
    assert (got.event.id, got.event.action, got.event.object_type) == (
        event["id"],
        event["action"],
        event["object_type"],
    )


def test_the_key_is_the_bytes_its_hex_spells() -> None:
    """As Close's docs: ``hmac.new(bytearray.fromhex(key), timestamp + body, sha256)``."""
    body = b'{"event": {"id": "ev_1"}, "subscription_id": "whsub_1"}'
    expected = hmac.new(bytearray.fromhex(KEY), f"{NOW}".encode() + body, hashlib.sha256).hexdigest()
    assert sign(body, KEY, NOW) == {SIGNATURE_HEADER: expected, TIMESTAMP_HEADER: str(NOW)}
    keyed_with_text = hmac.new(KEY.encode(), f"{NOW}".encode() + body, hashlib.sha256).hexdigest()
    error = refusal(body, {SIGNATURE_HEADER: keyed_with_text, TIMESTAMP_HEADER: str(NOW)}, KEY, NOW)
    assert error.reason == "bad_signature"


def test_header_names_in_any_case_and_multidicts() -> None:
    body = delivery({"id": "ev_1"})
    headers = sign(body, KEY, NOW)
    shouting = {name.title(): value.upper() for name, value in headers.items()}
    assert verify(body, shouting, KEY, now=NOW).id == "ev_1"
    assert verify(body, CIMultiDict(shouting), KEY, now=NOW).id == "ev_1"


def test_sign_sends_a_number_as_whole_seconds_and_a_string_as_given() -> None:
    assert sign(b"{}", KEY, 1767603600.9)[TIMESTAMP_HEADER] == "1767603600"
    assert sign(b"{}", KEY, "1767603600.25")[TIMESTAMP_HEADER] == "1767603600.25"
    assert to_dict(verify(delivery({}), sign(delivery({}), KEY, "1767603600.25"), KEY, now=NOW)) == {}


def test_sign_refuses_what_is_not_a_body_or_a_time() -> None:
    with pytest.raises(TypeError):
        sign("{}", KEY, NOW)  # type: ignore[arg-type]  # str is not the raw bytes
    with pytest.raises(TypeError):
        sign(b"{}", KEY, True)
    for bad in (-1, float("nan"), "1e9", "", " 12", "-5"):
        with pytest.raises(ValueError, match="timestamp"):
            sign(b"{}", KEY, bad)


# -- refusals -------------------------------------------------------------------------------


@given(event=events, key=keys, stamp=timestamps, which=st.sampled_from([SIGNATURE_HEADER, TIMESTAMP_HEADER]))
def test_a_missing_header_is_refused(event: dict[str, Any], key: str, stamp: int, which: str) -> None:
    body = delivery(event)
    headers = sign(body, key, stamp)
    del headers[which]
    error = refusal(body, headers, key, stamp)
    assert error.reason == "missing_header"
    assert which in error.message
    assert_no_key(error, key)


bad_hashes = st.text(alphabet="0123456789abcdef", max_size=80).filter(lambda s: len(s) != 64) | st.text(
    min_size=64, max_size=64
).filter(lambda s: any(c not in "0123456789abcdefABCDEF" for c in s))


@given(key=keys, stamp=timestamps, bad=bad_hashes)
def test_a_hash_that_is_not_64_hex_digits_is_refused(key: str, stamp: int, bad: str) -> None:
    body = delivery({"id": "ev_1"})
    headers = {**sign(body, key, stamp), SIGNATURE_HEADER: bad}
    error = refusal(body, headers, key, stamp)
    assert error.reason == "malformed_header"
    assert_no_key(error, key)


UNIX_TIME = re.compile(r"[0-9]{1,12}(?:\.[0-9]{1,9})?")


@given(key=keys, bad=st.text(max_size=20).filter(lambda s: UNIX_TIME.fullmatch(s.strip()) is None))
def test_a_timestamp_that_is_not_a_unix_time_is_refused(key: str, bad: str) -> None:
    body = delivery({"id": "ev_1"})
    headers = {**sign(body, key, NOW), TIMESTAMP_HEADER: bad}
    error = refusal(body, headers, key, NOW)
    assert error.reason == "malformed_header"
    assert_no_key(error, key)


@given(event=events, key=keys, other=keys, stamp=timestamps)
def test_the_wrong_key_is_refused(event: dict[str, Any], key: str, other: str, stamp: int) -> None:
    assume(bytes.fromhex(other) != bytes.fromhex(key))
    body = delivery(event)
    error = refusal(body, sign(body, other, stamp), key, stamp)
    assert error.reason == "bad_signature"
    assert_no_key(error, key)
    assert_no_key(error, other)


@given(body=st.binary(min_size=1, max_size=300), key=keys, stamp=timestamps, data=st.data())
def test_a_tampered_body_is_refused(body: bytes, key: str, stamp: int, data: st.DataObject) -> None:
    headers = sign(body, key, stamp)
    index = data.draw(st.integers(0, len(body) - 1))
    flip = data.draw(st.integers(1, 255))
    tampered = body[:index] + bytes([body[index] ^ flip]) + body[index + 1 :]
    for changed in (tampered, body + b" ", body[:-1]):
        error = refusal(changed, headers, key, stamp)
        assert error.reason == "bad_signature"
        assert_no_key(error, key)


@given(event=events, key=keys, stamp=timestamps, beyond=st.integers(1, 10**6), past=st.booleans())
def test_a_timestamp_out_of_tolerance_is_refused(
    event: dict[str, Any], key: str, stamp: int, beyond: int, past: bool
) -> None:
    body = delivery(event)
    headers = sign(body, key, stamp)
    now = stamp + 300 + beyond if past else stamp - 300 - beyond
    error = refusal(body, headers, key, now)
    assert error.reason == "timestamp_out_of_tolerance"
    assert ("old" if past else "in the future") in error.message
    assert_no_key(error, key)
    assert to_dict(verify(body, headers, key, now=now, tolerance=300 + beyond)) == event


def test_the_default_now_is_the_wall_clock() -> None:
    body = delivery({"id": "ev_1"})
    assert refusal(body, sign(body, KEY, NOW - 10_000), KEY, NOW).reason == "timestamp_out_of_tolerance"
    assert verify(body, sign(body, KEY, time.time()), KEY).id == "ev_1"
    with pytest.raises(WebhookVerificationError):
        verify(body, sign(body, KEY, time.time() - 3600), KEY)


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[]",
        b'{"subscription_id": "whsub_1"}',
        b'{"event": [1], "subscription_id": "whsub_1"}',
        b'{"event": {}, "subscription_id": 7}',
        b"\xff\xfe",
    ],
)
def test_a_signed_body_that_is_not_a_delivery_is_refused(body: bytes) -> None:
    error = refusal(body, sign(body, KEY, NOW), KEY, NOW)
    assert error.reason == "malformed_body"
    assert_no_key(error, KEY)


def test_a_delivery_without_subscription_id_still_verifies() -> None:
    body = orjson.dumps({"event": {"id": "ev_1"}})
    assert verify_delivery(body, sign(body, KEY, NOW), KEY, now=NOW).subscription_id is None


@pytest.mark.parametrize("bad", ["", "abc", "zz" * 16, "5e 5e", "my-secret-signature-value", b"5e5e"])
def test_a_key_that_is_not_hex_is_a_configuration_error_that_hides_it(bad: Any) -> None:
    for call in (lambda: sign(b"{}", bad, NOW), lambda: verify(b"{}", {}, bad, now=NOW)):
        with pytest.raises(ConfigurationError) as caught:
            call()
        if isinstance(bad, str) and len(bad) > 3:
            assert_no_key(caught.value, bad)


def test_a_negative_tolerance_is_a_mistake() -> None:
    with pytest.raises(ValueError, match="tolerance"):
        verify(b"{}", {}, KEY, tolerance=-1)


def test_the_error_is_a_close_error_that_pickles() -> None:
    body = delivery({"id": "ev_1"})
    error = refusal(body, sign(body, KEY, NOW), KEY, NOW + 301)
    assert isinstance(error, CloseError)
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is WebhookVerificationError
    assert (str(copy), copy.reason, copy.message) == (str(error), error.reason, error.message)
    assert repr(copy) == f"WebhookVerificationError({error.message!r}, reason='timestamp_out_of_tolerance')"
