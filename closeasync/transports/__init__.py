"""Transports: how requests reach Close (or a stand-in for it)."""

from __future__ import annotations

from .._wire import Request, Response, Timeout
from .aiohttp import AiohttpTransport
from .base import Transport

__all__ = ["AiohttpTransport", "Request", "Response", "Timeout", "Transport"]
