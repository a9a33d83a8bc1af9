"""Which tables a transfer copies, in which order, and how two copies are compared.

Every table of the hub's models is copied — django-q2's, the sessions', the content types'
and permissions' (with their primary keys, so foreign keys to them stay right) and the
database cache's — parents before children. The hub's own identity and instance lease are
not copied: the transfer writes them fresh on the target as its last step.

The checksum is order-independent (the sum of per-row SHA-256 digests), because two vendors
sort text keys differently, and computed over canonical values, because they return the same
value in different Python types (a MariaDB JSON text, an Oracle NULL for '').
"""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import json
import uuid
from collections.abc import Iterable, Iterator
from typing import Any

from django.apps import apps
from django.db import connections, models

# Created on a target first by a transfer (storage.transfer), dropped last: its presence means
# partial tables, and its content says which installation's transfer made them.
MARKER = "hub_transfer_marker"
NOT_COPIED = {"storage.databaseidentity", "storage.instancelease"}
READ_CHUNK = 5000
_MOD = 2**256


def transfer_models() -> list[type[models.Model]]:
    """The models whose tables are copied, parents first (a topological order of the FKs)."""
    from storage.models import CacheEntry

    candidates = [
        m for m in apps.get_models(include_auto_created=True)
        if (m._meta.managed or m is CacheEntry) and not m._meta.proxy and m._meta.label_lower not in NOT_COPIED
    ]
    by_table = {m._meta.db_table: m for m in candidates}
    ordered: list[type[models.Model]] = []
    seen: set[str] = set()

    def visit(model: type[models.Model], path: tuple[str, ...]) -> None:
        table = model._meta.db_table
        if table in seen or table in path:
            return  # done, or a cycle (deferred / disabled FK checks cover it)
        for field in model._meta.concrete_fields:
            target = getattr(field, "related_model", None)
            if field.is_relation and target is not None and target._meta.db_table in by_table:
                visit(by_table[target._meta.db_table], (*path, table))
        seen.add(table)
        ordered.append(model)

    for model in sorted(candidates, key=lambda m: m._meta.db_table):
        visit(model, ())
    return ordered


def hub_table_names() -> set[str]:
    """Every table this hub creates (what cleanup may drop, and nothing else)."""
    names = {m._meta.db_table for m in apps.get_models(include_auto_created=True)
             if m._meta.managed and not m._meta.proxy}
    return names | {"hub_cache", "django_migrations"}


def columns(model: type[models.Model]) -> list[models.Field]:
    return list(model._meta.concrete_fields)


def _is_custom(field: models.Field) -> bool:
    return not type(field).__module__.startswith("django.")


def stored_value(value: Any, field: models.Field) -> Any:
    """A custom field's value as its column holds it (a pickled django-q2 payload, a sealed
    secret's token): copied as stored, never decoded into something a writer cannot take
    (or, for secrets, decrypted)."""
    if value is None:
        return None
    token = getattr(value, "token", None)
    if isinstance(token, str):
        return token
    return field.get_db_prep_value(value, connection=connections["default"], prepared=False)


def read_rows(alias: str, model: type[models.Model]) -> Iterator[tuple[Any, ...]]:
    """Stream a table's rows as Python values (never the whole table in memory)."""
    fields = columns(model)
    names = [f.attname for f in fields]
    rows = model._base_manager.using(alias).values_list(*names).order_by().iterator(chunk_size=READ_CHUNK)
    custom = [i for i, f in enumerate(fields) if _is_custom(f)]
    if not custom:
        return rows
    return (tuple(stored_value(v, fields[i]) if i in custom else v for i, v in enumerate(row)) for row in rows)


def canonical(value: Any, field: models.Field, empty_is_null: bool) -> str:
    """One value as text that is equal for equal data whatever database returned it.

    ``empty_is_null``: Oracle stores '' as NULL, so when Oracle is on either side '' and NULL
    are the same value.
    """
    if value is None or (empty_is_null and value == ""):
        return "\x00N"
    if isinstance(field, models.JSONField):
        if isinstance(value, str):  # a backend without a native JSON type may hand back text
            try:
                value = json.loads(value)
            except ValueError:
                pass
        return "j" + json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    if isinstance(value, bool):
        return "b1" if value else "b0"
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return "t" + value.isoformat(timespec="microseconds")
    if isinstance(value, dt.date | dt.time):
        return "d" + value.isoformat()
    if isinstance(value, decimal.Decimal):
        places = getattr(field, "decimal_places", None)
        if places is not None:
            value = value.quantize(decimal.Decimal(1).scaleb(-places))
        return "n" + format(value, "f")
    if isinstance(value, float):
        return "f" + repr(value)
    if isinstance(value, int):
        return "i" + str(value)
    if isinstance(value, uuid.UUID):
        return "u" + value.hex
    if isinstance(value, bytes | memoryview | bytearray):
        return "x" + bytes(value).hex()
    if isinstance(field, models.UUIDField):
        return "u" + uuid.UUID(str(value)).hex
    return "s" + str(value)


def row_digest(row: Iterable[Any], fields: list[models.Field], empty_is_null: bool) -> int:
    text = "\x1f".join(canonical(v, f, empty_is_null) for v, f in zip(row, fields, strict=True))
    return int.from_bytes(hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest(), "big")


def combine(rows: Iterable[Iterable[Any]], fields: list[models.Field], empty_is_null: bool) -> tuple[int, str]:
    """(row count, checksum) of rows, independent of their order."""
    count, total = 0, 0
    for row in rows:
        count += 1
        total = (total + row_digest(row, fields, empty_is_null)) % _MOD
    return count, f"{total:064x}"


def table_checksum(alias: str, model: type[models.Model], empty_is_null: bool) -> tuple[int, str]:
    return combine(read_rows(alias, model), columns(model), empty_is_null)


def existing_tables(alias: str) -> set[str]:
    with connections[alias].cursor() as cursor:
        return set(connections[alias].introspection.table_names(cursor))


# django-q2's ORM broker acknowledges a task by deleting its queue row *by id*, in whichever
# database the acknowledging process uses by then. Until every process has switched, the old
# database keeps handing out queue ids (the scheduler enqueues there; the write freeze does not
# stop it) and the pusher keeps taking tasks from it; such a task, run after the switch, is
# acknowledged in the new database. Were its id reused there, that acknowledgement would delete
# another, unrelated task, which then never runs (found by
# tests/system/test_storage_transfer.py: a job queued right after the switch stayed queued).
# So the new database's queue ids start far past every id the old one has handed out: a task
# taken but not yet acknowledged still has its row there, so the live largest id bounds them,
# and the gap covers what is enqueued between this read and the last process switching.
QUEUE_ID_GAP = 100_000


def leave_queue_ids_behind(live: str, target: str) -> int:
    """Make ``target``'s next django-q2 queue id exceed every id ``live`` (the database the
    hub still runs on) has handed out, by ``QUEUE_ID_GAP``; the first id it will hand out."""
    from django.core.management.color import no_style
    from django.db import transaction
    from django.db.models import Max
    from django_q.models import OrmQ

    top = max(OrmQ.objects.using(alias).aggregate(top=Max("id"))["top"] or 0 for alias in (live, target))
    placeholder = top + QUEUE_ID_GAP
    # Vendor-neutral: a row with the id, the backend's own sequence reset (PostgreSQL, Oracle,
    # SQL Server follow the largest id; MySQL/MariaDB's AUTO_INCREMENT follows the insert), then
    # the row goes. Nothing reads the target's queue before the switch.
    with transaction.atomic(using=target):
        OrmQ.objects.using(target).create(id=placeholder, key=MARKER, payload="")
        with connections[target].cursor() as cursor:
            for sql in connections[target].ops.sequence_reset_sql(no_style(), [OrmQ]):
                cursor.execute(sql)
        OrmQ.objects.using(target).filter(id=placeholder).delete()
    return placeholder + 1
