"""Ctrl+C while ``closeasync`` is still loading ends it quietly with 130, as later does.

The command imports the SDK, aiohttp and the models only once it runs (a few hundred
milliseconds). A real Ctrl+C cannot be aimed at that moment without timing, so a
``sitecustomize`` raises ``KeyboardInterrupt`` exactly where the signal would land:
while one of those modules is being imported.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(sys.executable).with_name("closeasync")  # the installed console script
INTERRUPT_ON_IMPORT = """
import sys

class CtrlC:
    def find_spec(self, name, path=None, target=None):
        if name == {module!r}:
            raise KeyboardInterrupt
        return None

sys.meta_path.insert(0, CtrlC())
"""


@pytest.mark.parametrize("module", ["aiohttp", "cattrs", "closeasync.client", "closeasync.export"])
@pytest.mark.parametrize("command", [[str(SCRIPT)], [sys.executable, "-m", "closeasync"]])
def test_ctrl_c_while_loading_exits_130_quietly(tmp_path: Path, module: str, command: list[str]) -> None:
    assert SCRIPT.exists(), "pip install -e . puts the closeasync script next to the interpreter"
    (tmp_path / "sitecustomize.py").write_text(INTERRUPT_ON_IMPORT.format(module=module))
    env = {**os.environ, "PYTHONPATH": str(tmp_path), "CLOSE_API_KEY": "api_never_used"}
    done = subprocess.run(
        [
            *command,
            "export",
            "emails",
            "--to",
            str(tmp_path / "copy.sqlite"),
            "--base-url",
            "http://127.0.0.1:9",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert (done.returncode, done.stdout, done.stderr) == (130, "", "")
    assert not (tmp_path / "copy.sqlite").exists()


def test_the_hook_does_interrupt_an_import(tmp_path: Path) -> None:
    """The test above would pass vacuously if the hook never fired: it does."""
    (tmp_path / "sitecustomize.py").write_text(INTERRUPT_ON_IMPORT.format(module="aiohttp"))
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-c", "import aiohttp"], capture_output=True, text=True, env=env, timeout=60
    )
    assert "KeyboardInterrupt" in done.stderr
