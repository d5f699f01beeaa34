"""The README's commands and examples stay true to the code."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
BLOCKS = re.findall(r"```(\w+)\n(.*?)```", README, flags=re.DOTALL)


def test_readme_opens_with_the_demo_and_the_ci_test_command() -> None:
    """Exactly two set-up commands: the demo against the fake, then what .ci/run runs."""
    language, first = BLOCKS[0]
    assert language == "bash"
    demo, tests = first.strip().splitlines()
    assert demo.endswith("closeasync demo")
    assert "pytest" in tests
    ci_lines = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert tests in ci_lines


def test_readme_python_examples_compile_and_use_public_names() -> None:
    """Every Python example parses, and what it imports from closeasync exists."""
    import closeasync

    python_blocks = [code for language, code in BLOCKS if language == "python"]
    assert python_blocks
    for code in python_blocks:
        tree = ast.parse(code)
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module == "closeasync":
                for alias in node.names:
                    assert hasattr(closeasync, alias.name), alias.name
