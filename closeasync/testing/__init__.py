"""Testing helpers: the pytest plugin (fixtures for the fake and for cassettes).

The plugin is registered through the ``pytest11`` entry point, so installing
closeasync makes its fixtures available: ``close_fake``, ``close_fake_client``,
``close_cassette`` (and ``close_cassette_config`` to override), with the
``--close-record-mode`` command-line option.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._config import CassetteConfig

__all__ = ["CassetteConfig"]


def __getattr__(name: str) -> object:
    # The entry point imports this package in every pytest run of any project with
    # closeasync installed, so CassetteConfig (attrs, the client) loads only when used.
    if name == "CassetteConfig":
        from ._config import CassetteConfig

        return CassetteConfig
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
