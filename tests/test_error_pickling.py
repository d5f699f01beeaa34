"""Every exception closeasync raises survives pickling (process pools, task queues)."""

from __future__ import annotations

import pickle

import pytest

from closeasync import errors
from closeasync.models import FieldNotLoaded

EXAMPLES: list[BaseException] = [
    errors.CloseError("plain"),
    errors.BadRequestError("bad", status=400, body=b"{}", errors=["e"], field_errors={"subject": "too long"}),
    errors.NotFoundError("gone", status=404, body=b"", method="GET", url="https://close.test/x/"),
    errors.RateLimitError("slow down", status=429, body=b"", retry_after=1.5),
    errors.ServerError("oops", status=503, body=b""),
    errors.ConnectError("refused", method="GET", url="https://close.test/"),
    errors.RequestTimeoutError("late", may_have_reached_server=True, method="PUT", url="https://close.test/"),
    errors.WriteOutcomeUnknownError("lost", method="POST", url="https://close.test/"),
    errors.ResponseValidationError("odd", status=200, body=b"[]", method="GET", url="https://close.test/"),
    errors.FieldValueError(
        "Email.date_created: bad", model="Email", field="date_created", status=200, body=b"{}"
    ),
    errors.InvalidRequestError({"types": "must be a list"}),
    errors.ConfigurationError("no key"),
    errors.ClientClosedError("closed"),
    FieldNotLoaded("Email", "body_text", ("id", "subject")),
]


@pytest.mark.parametrize("error", EXAMPLES, ids=lambda e: type(e).__name__)
def test_an_error_comes_back_the_same_from_a_pickle(error: BaseException) -> None:
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error)
    assert str(copy) == str(error)
    assert vars(copy) == vars(error)
