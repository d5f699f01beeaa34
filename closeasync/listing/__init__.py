"""The listing engine (internal: the public names are ``closeasync.AsyncPaginator``,
``closeasync.Page``, ``closeasync.SyncIterator`` and ``closeasync.SyncCursor``).

- :mod:`~closeasync.listing.rules`: page rules, no I/O: offset (``_skip``/``has_more``)
  and cursor (``_cursor``/``cursor_next``) paging;
- :mod:`~closeasync.listing.keyset`: the sync walk by ``date_created`` (its rule, and
  :class:`~closeasync.listing.keyset.SyncIterator`, which keeps the cursor);
- :mod:`~closeasync.listing.cursor`: :class:`~closeasync.listing.cursor.SyncCursor`;
- :mod:`~closeasync.listing.fetch`: one page over the resource's requester, and its envelope;
- :mod:`~closeasync.listing.engine`: pages in order by a rule, one at a time or several
  ahead (the one prefetch mechanism);
- :mod:`~closeasync.listing.paginator`: :class:`~closeasync.listing.paginator.AsyncPaginator`,
  its pages and its ``async with`` stream.
"""
