"""Headless bulk completion: the engine, its durable journal, and the headless commands.

No Textual imports anywhere in this package. Nothing is imported here on purpose: the CLI builds
its parser from :mod:`console.bulk.headless` on every start, and SQLite/the engine load only when
a command needs them. Import what you need from the modules:

- :mod:`console.bulk.engine`   -- ``BulkEngine`` (run / stop / settle_pending / resume)
- :mod:`console.bulk.results`  -- ``OrderResult``, ``ResultStatus``, ``RunReport``, progress events
- :mod:`console.bulk.journal`  -- ``Journal`` (SQLite WAL, single writer), ``JournalReader``
- :mod:`console.bulk.headless` -- ``complete`` / ``orders`` / ``journal`` commands
"""
