"""The sync engine: change detection, processing, scheduling, full scans.

Modules: ``clock`` (a patchable now()), ``leases`` (conditional-UPDATE leases), ``connections``
(connectors from connections, connection health), ``mapping`` (field conversion, people,
transitions), ``detection`` (cursors → pending work), ``processing`` (pending work → writes),
``runner`` (one run of one integration), ``dispatch`` (when runs are due), ``jobs`` (full scan,
initiate synchronization), ``services`` (process all, initiate sync, retry, validation).
"""
