"""The JQL subset the Jira stand-in understands, evaluated the way Jira documents it.

Clauses joined by ``AND``: ``project = X`` / ``project in (A, B)``, ``key|issuekey|id = K`` /
``in (...)``, ``labels|status|issuetype = x`` / ``in (...)``, ``updated|created >=|>|<=|< "date"`` and an
``ORDER BY field ASC|DESC, ...`` tail. Dates are ``yyyy-MM-dd HH:mm``, ``yyyy/MM/dd HH:mm``,
``yyyy-MM-dd`` or ``yyyy/MM/dd`` **in the searching user's time zone** — minute resolution, no
seconds (Jira rejects them with the message below). Anything else is a JQL error, as Jira says.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

DATE_FORMATS = ("%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M", "%Y-%m-%d", "%Y/%m/%d")
_CLAUSE = re.compile(r'^\s*(\w+)\s*(>=|<=|!=|=|>|<|\bin\b)\s*(\(.*?\)|"[^"]*"|\'[^\']*\'|\S+)\s*$', re.I)


class JqlError(ValueError):
    pass


def _unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    return value


def _values(raw: str) -> list[str]:
    raw = raw.strip()
    if raw.startswith("("):
        return [_unquote(v) for v in raw[1:-1].split(",") if v.strip()]
    return [_unquote(raw)]


def parse_date(value: str, field: str, tz: ZoneInfo) -> float:
    for fmt in DATE_FORMATS:
        try:
            local = datetime.strptime(value, fmt)
        except ValueError:
            continue
        return local.replace(tzinfo=tz).timestamp()
    raise JqlError(f"Date value '{value}' for field '{field}' is invalid. Valid formats include: 'yyyy/MM/dd HH:mm', "
                   "'yyyy-MM-dd HH:mm', 'yyyy/MM/dd', 'yyyy-MM-dd', or a period format e.g. '-5d', '4w 2d'.")


def key_order(key: str) -> tuple[str, int]:
    project, _, number = key.rpartition("-")
    return (project, int(number) if number.isdigit() else 0)


Predicate = Callable[[dict], bool]


def compile_jql(jql: str, tz: ZoneInfo, known: list[dict] | None = None) -> tuple[list[Predicate], list[tuple[str, bool]]]:
    """Return (predicates over issue records, [(order field, descending)]); ``known``: all issues."""
    known = known or []
    m = re.search(r"\border\s+by\b", jql, re.I)
    where, order = (jql[: m.start()], jql[m.end():]) if m else (jql, "")
    predicates: list[Predicate] = []
    for clause in [c for c in re.split(r"\s+and\s+", where.strip(), flags=re.I) if c.strip()]:
        m = _CLAUSE.match(clause)
        if not m:
            raise JqlError(f"Error in the JQL Query: the clause '{clause.strip()}' is not supported here.")
        field, op, raw = m.group(1).lower(), m.group(2).lower(), m.group(3)
        predicates.append(_predicate(field, op, raw, tz, known))
    ordering = []
    for part in [p for p in order.split(",") if p.strip()]:
        words = part.split()
        name = words[0].lower()
        if name not in ("updated", "created", "key", "issuekey"):
            raise JqlError(f"Not able to sort using field '{words[0]}'.")
        ordering.append(("key" if name == "issuekey" else name, len(words) > 1 and words[1].lower() == "desc"))
    return predicates, ordering


def _predicate(field: str, op: str, raw: str, tz: ZoneInfo, known: list[dict]) -> Predicate:
    if field in ("updated", "created"):
        if op not in (">=", ">", "<=", "<", "="):
            raise JqlError(f"The operator '{op}' is not supported by the '{field}' field.")
        bound = parse_date(_unquote(raw), field, tz)
        compare = {">=": float.__ge__, ">": float.__gt__, "<=": float.__le__, "<": float.__lt__, "=": float.__eq__}[op]
        return lambda issue: compare(float(issue[field]), bound)
    if op not in ("=", "in", "!="):
        raise JqlError(f"The operator '{op}' is not supported by the '{field}' field.")
    wanted = _values(raw)
    if field == "project":
        wanted_set = {w.upper() for w in wanted}
        test: Predicate = lambda issue: issue["project"].upper() in wanted_set  # noqa: E731
    elif field in ("key", "issuekey", "id"):
        attr = "id" if field == "id" else "key"
        wanted_set = {w.upper() for w in wanted}
        missing = sorted(wanted_set - {str(i[attr]).upper() for i in known})
        if missing:  # Jira refuses a query naming an issue that does not exist
            raise JqlError(f"An issue with key '{missing[0]}' does not exist for field '{field}'.")
        test = lambda issue: str(issue[attr]).upper() in wanted_set  # noqa: E731
    elif field in ("status", "issuetype"):
        wanted_set = {w.lower() for w in wanted}
        test = lambda issue, f=field: str(issue["fields"].get(f) or "").lower() in wanted_set  # noqa: E731
    elif field == "labels":
        wanted_set = set(wanted)
        test = lambda issue: bool(wanted_set & set(issue["fields"].get("labels") or []))  # noqa: E731
    else:
        raise JqlError(f"Field '{field}' does not exist or you do not have permission to view it.")
    if op == "!=":
        return lambda issue: not test(issue)
    return test


def sort_issues(issues: list[dict], ordering: list[tuple[str, bool]]) -> list[dict]:
    for name, descending in reversed(ordering):
        if name == "key":
            issues.sort(key=lambda i: key_order(i["key"]), reverse=descending)
        else:
            issues.sort(key=lambda i, n=name: float(i[n]), reverse=descending)
    return issues
