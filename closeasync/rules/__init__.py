"""Close's input rules as pure functions over JSON (internal).

The SDK runs them before sending, so bad input fails with ``InvalidRequestError`` and
nothing leaves; the fake Close runs the same functions to answer 400, so the two cannot
disagree. :mod:`~closeasync.rules.messages`: Email and SMS bodies and their status
rules; :mod:`~closeasync.rules.activity_bodies`: Note, Call and Meeting bodies;
:mod:`~closeasync.rules.activities`: the filters of ``GET /activity/``.
"""
