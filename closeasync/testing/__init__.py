"""Testing helpers: the pytest plugin (fixtures for the fake and for cassettes).

The plugin is registered through the ``pytest11`` entry point, so installing
closeasync makes its fixtures available: ``close_fake``, ``close_fake_client``,
``close_cassette`` (and ``close_cassette_config`` to override), with the
``--close-record-mode`` command-line option.
"""

from __future__ import annotations

from .plugin import CassetteConfig

__all__ = ["CassetteConfig"]
