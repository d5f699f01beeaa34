"""The request pipeline (internal: its public names are exported by ``closeasync``).

One request goes through these modules, in this order:

- :mod:`~closeasync.pipeline.requester`: what a resource calls; builds, sends, checks, decodes;
- :mod:`~closeasync.pipeline.routes`: the route table (method, template, endpoint group);
- :mod:`~closeasync.pipeline.wire`: ``Request``/``Response`` values and pure encoding and decoding;
- :mod:`~closeasync.pipeline.auth`: credentials, built into a header once, never shown;
- :mod:`~closeasync.pipeline.sender`: the attempt loop (pacing, the concurrency cap, retries, events);
- :mod:`~closeasync.pipeline.pacing`: the shared rate-limit state per endpoint group (each
  attempt's turn, the concurrency cap), over :mod:`~closeasync.pipeline.budget` (one group's
  budget as the answers told it, and when it lapses) and :mod:`~closeasync.pipeline.slowstart`
  (a group's first request goes alone while its budget is unknown);
- :mod:`~closeasync.pipeline.ratelimit`: ``RateLimit``/``Retry-After`` header parsing;
- :mod:`~closeasync.pipeline.outcomes`: what a failed attempt means for a write (pure decisions).
"""
