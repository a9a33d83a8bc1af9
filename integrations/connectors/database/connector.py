"""A table in SQLite, PostgreSQL or MySQL/MariaDB as a repository of work items.

One row is one artifact: an integer id column, a project column, an updated-at column that
every writer sets (change detection reads it), a hub-key column the hub stamps on rows it
creates (crash-safe creation), and any number of mapped field columns. A table the hub only
reads, or only updates (another application's, e.g. Redmine's own ``issues``), needs no hub-key
column: without one the hub creates no rows there, which the configuration check says.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from integrations.connectors.base import (
    ArtifactData,
    ChangePage,
    Connector,
    ConnectorError,
    Parameter,
    Person,
    StaleArtifact,
)
from integrations.connectors.database.dialects import Dialect, check_identifier, dialect_for


def _now() -> datetime:
    return datetime.now(UTC)


class DatabaseConnector(Connector):
    kind = "database"
    label = "Database table (SQLite, PostgreSQL, MySQL/MariaDB)"
    url_help = ("The database: sqlite:////absolute/path/file.db (its directory must be allowed by "
                "HUB_CONNECTION_SQLITE_DIRS), postgresql://user@host:5432/name or mysql://user@host:3306/name; "
                "the password goes in the secret below, not in the URL.")
    parameters = (
        Parameter("table", "Table", help="The work-item table."),
        Parameter("id_column", "Id column", required=False, default="id", help="An auto-increment integer key."),
        Parameter("project_column", "Project column", required=False, default="project"),
        Parameter("updated_column", "Updated-at column", required=False, default="updated_at",
                  help="Every writer must set it; change detection reads it."),
        Parameter("hub_key_column", "Hub-key column", required=False, default="hub_key",
                  help="Text column (indexed) where the hub marks rows it created."),
        Parameter("people_table", "People table", required=False, default="",
                  help="Optional table with id, username and email columns, for person reconciliation."),
        Parameter("projects", "Projects", required=False, default="",
                  help="Comma-separated project keys; empty: the distinct values of the project column."),
        # A table pages cheaply: 500 rows per change-detection page and per read() call.
        Parameter("page_size", "Page size", type="integer", required=False, default=500),
        Parameter("password", "Password", sensitive=True, required=False, default=""),
    )

    def __init__(self, url: str, options: Mapping[str, Any], secrets: Mapping[str, Any]) -> None:
        super().__init__(url, options, secrets)
        opts = {p.name: p.default for p in self.option_parameters()} | {k: v for k, v in self.options.items() if v}
        try:
            self.table = check_identifier(opts["table"], "Table")
            self.id_col = check_identifier(opts["id_column"], "Id column")
            self.project_col = check_identifier(opts["project_column"], "Project column")
            self.updated_col = check_identifier(opts["updated_column"], "Updated-at column")
            self.hub_key_col = check_identifier(opts["hub_key_column"], "Hub-key column")
            self.people_table = check_identifier(opts["people_table"], "People table") if opts["people_table"] else ""
            self.dialect: Dialect = dialect_for(url, str(self.secrets.get("password") or ""))
        except (KeyError, ValueError) as exc:
            raise ConnectorError(f"Bad database connection settings: {exc}") from None
        self.page_size = int(opts["page_size"] or 500)
        self.declared_projects = [p.strip() for p in str(opts["projects"] or "").split(",") if p.strip()]
        self._local = threading.local()
        self._columns: list[str] | None = None

    # -- plumbing --

    def _conn(self) -> Any:
        # DB-API connections are not shared between threads: the engine runs several.
        conn = getattr(self._local, "conn", None)
        if conn is None:
            try:
                conn = self.dialect.connect()
            except ConnectorError:
                raise
            except Exception as exc:  # noqa: BLE001 — every driver has its own exception tree
                raise self.dialect.classify(exc, connecting=True) from None
            self._local.conn = conn
        return conn

    def _execute(self, sql: str, params: Iterable[Any] = (), *, fetch: bool = True) -> tuple[list[tuple], Any]:
        conn = self._conn()
        try:
            cur = conn.cursor()
            cur.execute(sql.replace("%s", self.dialect.placeholder), tuple(params))
            rows = cur.fetchall() if fetch else []
            lastrowid = getattr(cur, "lastrowid", None)
            cur.close()
            return rows, lastrowid
        except Exception as exc:  # noqa: BLE001
            error = self.dialect.classify(exc, connecting=False)
            if error.transient:
                self.close()  # a broken connection is not reused
            raise error from None

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        self._local.conn = None
        if conn is not None:
            try:
                conn.close()
            except Exception:  # noqa: BLE001, S110 — closing a broken connection may fail too
                pass

    def _q(self, name: str) -> str:
        return self.dialect.quote(name)

    def columns(self) -> list[str]:
        if self._columns is None:
            cols = [d for d in self._describe()]
            self._columns = cols
        return self._columns

    def _describe(self) -> list[str]:
        conn = self._conn()
        try:
            cur = conn.cursor()
            cur.execute(f"SELECT * FROM {self._q(self.table)} WHERE 1 = 0")
            names = [d[0] for d in cur.description]
            cur.close()
        except Exception as exc:  # noqa: BLE001
            raise ConnectorError(f"Table '{self.table}' cannot be read: {self.dialect.classify(exc, connecting=False)}") from None
        missing = [c for c in (self.id_col, self.project_col, self.updated_col) if c not in names]
        if missing:
            raise ConnectorError(f"Table '{self.table}' lacks the column(s) {', '.join(missing)}.")
        return names

    def _field_columns(self) -> list[str]:
        special = {self.id_col, self.project_col, self.updated_col, self.hub_key_col}
        return [c for c in self.columns() if c not in special]

    @property
    def has_hub_key(self) -> bool:
        return self.hub_key_col in self.columns()

    def creation_problem(self) -> str:
        if self.has_hub_key:
            return ""
        return (f"Table '{self.table}' has no hub-key column '{self.hub_key_col}', so the hub cannot create rows in "
                "it (it marks each row it creates, to find it again after a crash). Add the column (text, indexed), "
                "or use a one-way template that only reads this side.")

    def _select(self) -> str:
        key = self._q(self.hub_key_col) if self.has_hub_key else "NULL"
        cols = [self._q(c) for c in (self.id_col, self.project_col, self.updated_col)]
        cols += [key, *(self._q(c) for c in self._field_columns())]
        return "SELECT " + ", ".join(cols) + f" FROM {self._q(self.table)}"

    def _artifact(self, row: tuple) -> ArtifactData:
        fields = self._field_columns()
        updated = self.dialect.from_db_time(row[2])
        return ArtifactData(
            id=str(row[0]), project=str(row[1]), updated_at=updated, hub_key=row[3] or "",
            fields=dict(zip(fields, row[4:], strict=True)), version=updated.isoformat(), token=row[2],
        )

    @staticmethod
    def _db_id(artifact_id: str) -> Any:
        return int(artifact_id) if str(artifact_id).isdigit() else artifact_id

    def _check_fields(self, fields: Mapping[str, Any]) -> None:
        unknown = sorted(set(fields) - set(self._field_columns()))
        if unknown:
            raise ConnectorError(f"Table '{self.table}' has no column(s) {', '.join(unknown)}.")

    # -- the contract --

    def test_connection(self) -> str:
        rows, _ = self._execute(f"SELECT COUNT(*) FROM {self._q(self.table)}")
        self._columns = None
        self.columns()
        return f"Connected; table '{self.table}' has {rows[0][0]} row(s)."

    def projects(self) -> list[str]:
        if self.declared_projects:
            return list(self.declared_projects)
        rows, _ = self._execute(f"SELECT DISTINCT {self._q(self.project_col)} FROM {self._q(self.table)}")
        return sorted(str(r[0]) for r in rows if r[0] is not None)

    def fields(self) -> dict[str, str]:
        return {c: "string" for c in self._field_columns()}

    def changes(self, project: str, since: datetime | None, page: int) -> ChangePage:
        result = self._keyset(project, since, None, self.page_size, offset=page * self.page_size)
        return result

    def changes_after(
        self, project: str, since: datetime | None, after: tuple[datetime, str] | None, limit: int
    ) -> ChangePage:
        return self._keyset(project, since, after, min(limit, self.page_size))

    def _keyset(self, project: str, since: datetime | None, after: tuple[datetime, str] | None, limit: int,
                offset: int = 0) -> ChangePage:
        u, i = self._q(self.updated_col), self._q(self.id_col)
        where, params = [f"{self._q(self.project_col)} = %s"], [project]
        if after is not None:
            ts = self.dialect.to_db_time(after[0])
            where.append(f"({u} > %s OR ({u} = %s AND {i} > %s))")
            params += [ts, ts, self._db_id(after[1])]
        elif since is not None:
            where.append(f"{u} >= %s")
            params.append(self.dialect.to_db_time(since))
        sql = f"{self._select()} WHERE {' AND '.join(where)} ORDER BY {u}, {i} LIMIT {int(limit) + 1}"
        if offset:
            sql += f" OFFSET {int(offset)}"
        rows, _ = self._execute(sql, params)
        return ChangePage([self._artifact(r) for r in rows[:limit]], done=len(rows) <= limit)

    def read(self, ids: Iterable[str]) -> list[ArtifactData]:
        ids = list(dict.fromkeys(str(x) for x in ids))
        out: list[ArtifactData] = []
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            marks = ", ".join(["%s"] * len(chunk))
            rows, _ = self._execute(f"{self._select()} WHERE {self._q(self.id_col)} IN ({marks})",
                                    [self._db_id(x) for x in chunk])
            out += [self._artifact(r) for r in rows]
        return out

    def create(self, project: str, fields: Mapping[str, Any], hub_key: str) -> ArtifactData:
        if problem := self.creation_problem():
            raise ConnectorError(problem)
        self._check_fields(fields)
        now = _now()
        cols = [self.project_col, self.updated_col, self.hub_key_col, *fields]
        values = [project, self.dialect.to_db_time(now), hub_key, *fields.values()]
        sql = (f"INSERT INTO {self._q(self.table)} ({', '.join(self._q(c) for c in cols)}) "
               f"VALUES ({', '.join(['%s'] * len(cols))})")
        if self.dialect.returning:
            rows, _ = self._execute(sql + f" RETURNING {self._q(self.id_col)}", values)
            new_id = rows[0][0]
        else:
            _, new_id = self._execute(sql, values, fetch=False)
        return ArtifactData(id=str(new_id), project=project, updated_at=now, fields=dict(fields),
                            version=now.isoformat(), hub_key=hub_key)

    def find_by_hub_key(self, project: str, hub_key: str) -> ArtifactData | None:
        if not self.has_hub_key:
            return None  # the hub created nothing here
        rows, _ = self._execute(f"{self._select()} WHERE {self._q(self.hub_key_col)} = %s", [hub_key])
        return self._artifact(rows[0]) if rows else None

    def update(self, artifact_id: str, fields: Mapping[str, Any]) -> ArtifactData:
        return self._update(artifact_id, fields, None)

    def update_if_unchanged(self, read: ArtifactData, fields: Mapping[str, Any]) -> ArtifactData:
        """``UPDATE … WHERE updated-at = the value read``: a person's edit committed after the
        hub read the row makes it match nothing, instead of being overwritten and re-stamped
        with the hub's clock (which would then pass for the hub's own echo)."""
        return self._update(read.id, fields, read.token)

    def _update(self, artifact_id: str, fields: Mapping[str, Any], expected: Any) -> ArtifactData:
        self._check_fields(fields)
        now = _now()
        sets = ", ".join(f"{self._q(c)} = %s" for c in [self.updated_col, *fields])
        where, params = f"{self._q(self.id_col)} = %s", [self._db_id(artifact_id)]
        if expected is not None:
            where += f" AND {self._q(self.updated_col)} = %s"
            params.append(expected)
        conn = self._conn()
        try:
            cur = conn.cursor()
            cur.execute(
                f"UPDATE {self._q(self.table)} SET {sets} WHERE {where}".replace("%s", self.dialect.placeholder),
                (self.dialect.to_db_time(now), *fields.values(), *params),
            )
            count = cur.rowcount
            cur.close()
        except Exception as exc:  # noqa: BLE001
            error = self.dialect.classify(exc, connecting=False)
            if error.transient:
                self.close()
            raise error from None
        if count == 0:
            if expected is not None and self.read([artifact_id]):
                raise StaleArtifact(f"Row {artifact_id} of table '{self.table}' changed after the hub read it; "
                                    "not written.", transient=True)
            raise ConnectorError(f"Row {artifact_id} is not in table '{self.table}' (deleted?).")
        # The written values and stamp are known: no read-back, one statement per update. The
        # condition above guarantees no other column changed in between.
        return ArtifactData(id=str(artifact_id), project="", updated_at=now, fields=dict(fields),
                            version=now.isoformat())

    def people(self) -> list[Person] | None:
        if not self.people_table:
            return None
        rows, _ = self._execute(f"SELECT id, username, email FROM {self._q(self.people_table)}")
        return [Person(id=str(r[0]), username=r[1] or "", email=r[2] or "") for r in rows]
