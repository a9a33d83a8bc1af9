"""Data and helpers of the GitHub API stand-in (tests/fakes/github_api.py): timestamps, error
bodies as GitHub writes them, rate-limit buckets, repositories, and the search query syntax."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tests.fakes.apiserver import Response

DOCS = "https://docs.github.com/rest"
RATE_DOCS = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"


def iso(ts: float) -> str:
    return datetime.fromtimestamp(int(ts), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def error(status: int, message: str, **extra: Any) -> Response:
    return Response(status, {"message": message, "documentation_url": DOCS, **extra})


def invalid(field_name: str, code: str = "invalid", resource: str = "Issue", **extra: Any) -> Response:
    return Response(422, {"message": "Validation Failed", "documentation_url": DOCS,
                          "errors": [{"resource": resource, "field": field_name, "code": code, **extra}]})


@dataclass
class Bucket:
    limit: int
    window: float
    remaining: int = -1
    reset: float = 0.0

    def refill(self, now: float) -> None:
        if self.remaining < 0 or now >= self.reset:
            self.remaining = self.limit
            self.reset = float(int(now + self.window))


@dataclass
class Repo:
    owner: str
    name: str
    id: int
    issues: dict[int, dict] = field(default_factory=dict)
    labels: dict[str, dict] = field(default_factory=dict)
    milestones: dict[int, dict] = field(default_factory=dict)
    assignable: set[str] = field(default_factory=set)
    next_number: int = 1
    # Numbers of issues transferred away → (destination repository, its number there, and whether
    # the token may read the destination: GitHub answers 404 instead of the redirect when not).
    transferred: dict[int, tuple[Repo, int, bool]] = field(default_factory=dict)


class NotFound(Exception):
    pass


def parse_query(query: str) -> tuple[list[str], dict[str, str]]:
    """``repo:o/r is:issue in:body "a phrase" word`` → (terms, qualifiers)."""
    terms: list[str] = []
    qualifiers: dict[str, str] = {}
    rest = query
    while rest.strip():
        rest = rest.strip()
        if rest.startswith('"'):
            phrase, _, rest = rest[1:].partition('"')
            terms.append(phrase)
            continue
        token, _, rest = rest.partition(" ")
        name, sep, value = token.partition(":")
        if sep and name in ("repo", "is", "in", "label", "state", "author"):
            qualifiers[name] = value
        else:
            terms.append(token)
    return terms, qualifiers
