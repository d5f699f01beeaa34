"""The package as installed: its metadata, its public names, and what importing it costs."""

from __future__ import annotations

import ast
import importlib.metadata
import subprocess
import sys
from pathlib import Path

import pytest

import closeasync

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("aiohttp", "cattrs", "orjson", "anyio", "closeasync.client", "closeasync.models")


def _modules_after(statement: str) -> set[str]:
    code = f"import sys; {statement}; print('\\n'.join(sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return set(out.split())


def test_importing_closeasync_loads_nothing_heavy() -> None:
    """`import closeasync` (which the pytest plugin's entry point triggers) imports no HTTP or models."""
    loaded = _modules_after("import closeasync")
    assert not {m for m in loaded if m.startswith(HEAVY)}
    # ...and the first use of a name brings in what it needs.
    assert "closeasync.client" in _modules_after("from closeasync import CloseAsync")


def test_the_lazy_names_are_the_type_checked_names() -> None:
    """Each public name's run-time module is the one its TYPE_CHECKING import names, and it resolves."""
    tree = ast.parse(Path(closeasync.__file__).read_text(encoding="utf-8"))
    [guarded] = [n for n in tree.body if isinstance(n, ast.If) and ast.unparse(n.test) == "TYPE_CHECKING"]
    imported = {
        alias.name: "." * node.level + (node.module or "")
        for node in guarded.body
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    }
    assert imported == closeasync._PUBLIC
    for name in closeasync.__all__:
        assert getattr(closeasync, name) is not None
    assert set(closeasync.__all__) <= set(dir(closeasync))


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="NoSuchThing"):
        closeasync.NoSuchThing  # noqa: B018


def test_metadata_names_the_license_and_where_the_project_lives() -> None:
    """The MIT license the metadata claims ships as a file, and the project's URLs are set."""
    metadata = importlib.metadata.metadata("closeasync")
    assert metadata["License-Expression"] == "MIT"
    assert metadata.get_all("License-File") == ["LICENSE"]
    assert (ROOT / "LICENSE").read_text(encoding="utf-8").startswith("MIT License")
    urls = dict(url.split(", ", 1) for url in metadata.get_all("Project-URL") or [])
    assert {"Homepage", "Source", "Changelog", "Issues"} <= set(urls)
    assert all(url.startswith("https://") for url in urls.values())


def test_subpackages_are_attributes_as_before() -> None:
    """``import closeasync; closeasync.models.Email`` works without importing models first."""
    code = "import closeasync; print(closeasync.models.Email.__name__, closeasync.errors.CloseError.__name__)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["Email", "CloseError"]


@pytest.mark.parametrize(
    ("module", "name"),
    [
        ("closeasync.pagination", "AsyncPaginator"),
        ("closeasync.pagination", "Page"),
        ("closeasync.pagination", "ItemStream"),
        ("closeasync.sync", "SyncCursor"),
        ("closeasync.sync", "SyncIterator"),
    ],
)
def test_moved_modules_forward_their_public_names_with_a_warning(module: str, name: str) -> None:
    """The listing's old public modules still give their names, and say where they live now."""
    old = importlib.import_module(module)
    with pytest.warns(DeprecationWarning, match=f"from closeasync import {name}"):
        value = getattr(old, name)
    public = hasattr(closeasync, name)
    home = closeasync if public else importlib.import_module("closeasync.listing.paginator")
    assert value is getattr(home, name)


@pytest.mark.parametrize("module", ["closeasync.pagination", "closeasync.sync"])
def test_moved_modules_no_longer_offer_internals(module: str) -> None:
    with pytest.raises(AttributeError):
        importlib.import_module(module).read_envelope  # noqa: B018
