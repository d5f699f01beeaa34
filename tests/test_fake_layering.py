"""The fake sits on top of the SDK: it reaches the client through its own transport, and the
client and the transports never load it (nor form an import cycle with it)."""

from __future__ import annotations

import subprocess
import sys

from closeasync.fake import FakeClose, FakeTransport


def _modules_after(statement: str) -> set[str]:
    code = f"import sys; {statement}; print('\\n'.join(sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return set(out.split())


def test_the_fake_makes_its_own_transport() -> None:
    fake = FakeClose(seed=1)
    transport = fake.transport()
    assert isinstance(transport, FakeTransport)
    assert transport.fake is fake
    assert FakeTransport.__module__ == "closeasync.fake.transport"


def test_the_client_and_the_transports_load_without_the_fake() -> None:
    loaded = _modules_after("import closeasync.transports, closeasync.client")
    assert "closeasync.transports" in loaded
    assert not {m for m in loaded if m == "closeasync.fake" or m.startswith("closeasync.fake.")}
