"""Close's input rules as pure functions over JSON (internal).

The SDK runs them before sending, so bad input fails with ``InvalidRequestError`` and
nothing leaves; the fake Close runs the same functions to answer 400, so the two cannot
disagree. :mod:`~closeasync.rules.messages`: Email and SMS bodies and their status
rules; :mod:`~closeasync.rules.activity_bodies`: Note, Call and Meeting bodies;
:mod:`~closeasync.rules._fields`: the kinds of value a body's field holds (each body's
rules are a table of them) and what can be sent as JSON at all;
:mod:`~closeasync.rules.filters`: the values of list filters (ids, dates, ordering);
:mod:`~closeasync.rules.activities`: the filter combinations of ``GET /activity/``.
"""
