"""Create a work-item table the ``database`` connector can use (setup, tests, benchmarks)."""

from __future__ import annotations

from collections.abc import Iterable

from integrations.connectors.database.dialects import check_identifier, dialect_for

_TYPES = {
    "sqlite": ("INTEGER PRIMARY KEY AUTOINCREMENT", "TEXT", "TEXT", "TEXT"),
    "postgresql": ("BIGSERIAL PRIMARY KEY", "TIMESTAMP(6)", "VARCHAR(200)", "TEXT"),
    "mysql": ("BIGINT AUTO_INCREMENT PRIMARY KEY", "DATETIME(6)", "VARCHAR(200)", "TEXT"),
}


def create_work_item_table(url: str, table: str, fields: Iterable[str], *, password: str = "",
                           people_table: str = "", drop: bool = False) -> None:
    """Create ``table`` (id, project, updated_at, hub_key and one text column per field),
    with the indexes change detection and hub-key lookups need."""
    dialect = dialect_for(url, password)
    table = check_identifier(table, "Table")
    fields = [check_identifier(f, "Column") for f in fields]
    id_type, time_type, key_type, text_type = _TYPES[dialect.target.scheme]
    q = dialect.quote
    conn = dialect.connect()
    try:
        cur = conn.cursor()
        statements = []
        if drop:
            statements += [f"DROP TABLE IF EXISTS {q(table)}"]
            if people_table:
                statements += [f"DROP TABLE IF EXISTS {q(people_table)}"]
        columns = [f"{q('id')} {id_type}", f"{q('project')} {key_type} NOT NULL", f"{q('updated_at')} {time_type} NOT NULL",
                   f"{q('hub_key')} {key_type}"] + [f"{q(f)} {text_type}" for f in fields]
        statements += [
            f"CREATE TABLE {q(table)} ({', '.join(columns)})",
            f"CREATE INDEX {q(table + '_changes')} ON {q(table)} ({q('project')}, {q('updated_at')}, {q('id')})",
            f"CREATE INDEX {q(table + '_hub_key')} ON {q(table)} ({q('hub_key')})",
        ]
        if people_table:
            people_table = check_identifier(people_table, "People table")
            statements.append(f"CREATE TABLE {q(people_table)} ({q('id')} {key_type} PRIMARY KEY, "
                              f"{q('username')} {key_type}, {q('email')} {key_type})")
        for sql in statements:
            cur.execute(sql)
        if hasattr(conn, "commit"):
            conn.commit()
    finally:
        conn.close()
