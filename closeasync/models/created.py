"""The Created activity: the record of a lead being created."""

from __future__ import annotations

from typing import ClassVar

import attrs

from ._base import UNSET
from .activity import ActivityBase
from .enums import CreationSource

__all__ = ["Created"]


@attrs.frozen(kw_only=True, eq=False, repr=False, slots=False)
class Created(ActivityBase):
    """A Created activity (Close's ``CreatedActivity``); read-only.

    ``source`` says how the lead was created and ``import_id`` names the import
    that created it, if one did.
    """

    TYPE: ClassVar[str] = "Created"

    source: CreationSource | str | None = UNSET
    import_id: str | None = UNSET
