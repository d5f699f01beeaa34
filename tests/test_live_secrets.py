"""The credentials errors are cleaned against: every live one, read safely from any thread."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator

import pytest

from closeasync.pipeline.auth import Credentials, live_secrets


@pytest.fixture
def fast_switching() -> Iterator[None]:
    """Switch threads as often as possible, so a race shows in a short test."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(before)


@pytest.mark.usefixtures("fast_switching")
def test_a_new_credential_is_known_at_once_while_others_read() -> None:
    errors: list[BaseException] = []
    stale: list[str] = []
    done = threading.Event()
    kept: list[Credentials] = []

    def read() -> None:
        while not done.is_set():
            try:
                live_secrets()
            except BaseException as exc:
                errors.append(exc)

    readers = [threading.Thread(target=read) for _ in range(3)]
    for reader in readers:
        reader.start()
    try:
        for n in range(500):
            key = f"api_race{n:05d}"
            credentials = Credentials.api_key(key)
            kept.append(credentials)
            if key not in live_secrets():
                stale.append(key)
    finally:
        done.set()
        for reader in readers:
            reader.join()
    assert errors == []
    assert stale == []


def test_a_forgotten_credential_leaves_the_set() -> None:
    credentials = Credentials.api_key("api_forgotten0123")
    assert "api_forgotten0123" in live_secrets()
    del credentials
    import gc

    gc.collect()
    assert "api_forgotten0123" not in live_secrets()
