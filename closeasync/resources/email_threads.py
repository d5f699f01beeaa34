"""``close.email_threads``: EmailThread activities (one per conversation; read and delete)."""

from __future__ import annotations

from ..models.thread import EmailThread
from ..pipeline.routes import ROUTES
from ._crud import ActivityResource

__all__ = ["EmailThreadsResource"]


class EmailThreadsResource(ActivityResource[EmailThread]):
    """Email threads: one object per conversation, holding its emails (without their bodies).

    Close makes them from the emails; there is no create or update.

    >>> async def example(close):  # doctest: +SKIP
    ...     async for thread in close.email_threads.list(lead_id="lead_1"):
    ...         print(thread.latest_normalized_subject, thread.n_emails)
    """

    _model = EmailThread
    _routes = ROUTES["emailthread"]

    async def delete(self, target: str | EmailThread) -> None:
        """Delete a thread and every email activity in it (as Close does).

        Raises:
            NotFoundError: no such thread.
        """
        await super().delete(target)
