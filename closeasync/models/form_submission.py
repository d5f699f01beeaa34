"""The FormSubmission activity: a submission of one of the organization's web forms."""

from __future__ import annotations

from typing import ClassVar

import attrs

from ._base import UNSET
from .activity import ActivityBase

__all__ = ["FormSubmission"]


@attrs.frozen(kw_only=True, eq=False, repr=False, slots=False)
class FormSubmission(ActivityBase):
    """A FormSubmission activity (Close's ``FormSubmissionActivity``); read-only.

    ``values`` maps form field ids (``formfld_...``) to the submitted values and
    ``values_by_name`` maps field names to them. ``source_url`` is the page the
    form was sent from.
    """

    TYPE: ClassVar[str] = "FormSubmission"

    form_id: str = UNSET
    form_name: str | None = UNSET
    form_configuration_id: str = UNSET
    values: dict[str, str | bool | None] = UNSET
    values_by_name: dict[str, str | bool | None] = UNSET
    ip_address: str | None = UNSET
    origin: str | None = UNSET
    source_url: str | None = UNSET
    source_url_normalized: str | None = UNSET
