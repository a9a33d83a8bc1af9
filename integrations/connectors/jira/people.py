"""Jira's people for person matching: the assignable users of the projects, as far as Jira lists
them, and a search per person for the rest.

Jira does not list everyone. Cloud's "Find users assignable to issues" looks at the users in the
range startAt..startAt+maxResults "up to the thousandth user" and then keeps those who can be
assigned, so a page usually holds fewer than asked and nothing past the 1,000th user comes back
(JRACLOUD-73019, also for ``/user/search``). Data Center 10 limits startAt + maxResults to the
first 100; 8.x/9.x stop at 1,000 (JSWSERVER-21156). A query narrows the users *before* the cap,
so :func:`find` reaches anyone the listing cannot.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from integrations.connectors.base import Person
from integrations.connectors.jira.client import JiraHttp

CAP = 1000  # no listing goes past the thousandth user


def listed(http: JiraHttp, projects: list[str], cloud: bool, person: Callable[[Mapping[str, Any]], Person]
           ) -> list[Person]:
    """Every assignable user the listing reaches: pages advance by what was *asked* (a page is
    filtered after the range is taken), until the cap or an empty page (Data Center 10 past 100)."""
    size = 1000 if cloud else 100  # the largest page each allows
    seen: dict[str, Person] = {}
    for key in projects:
        for start in range(0, CAP, size):
            users, _ = http.get("/user/assignable/search", {"project": key, "startAt": start, "maxResults": size})
            for user in users or []:
                p = person(user)
                seen.setdefault(p.id, p)
            if not users:
                break
    return list(seen.values())


def find(http: JiraHttp, projects: list[str], cloud: bool, person: Callable[[Mapping[str, Any]], Person],
         query: str) -> list[Person]:
    """Assignable users matching one account id, user name or e-mail (prefix search by Jira)."""
    if not query.strip():
        return []
    # Cloud: ``query`` matches display name and e-mail; an account id is matched by ``accountId``.
    # Data Center: ``username`` matches user name, name and e-mail.
    asks = ([{"query": query}] + ([{"accountId": query}] if "@" not in query and " " not in query else [])
            if cloud else [{"username": query}])
    seen: dict[str, Person] = {}
    for key in projects:
        for ask in asks:
            users, _ = http.get("/user/assignable/search", {"project": key, "maxResults": 50, **ask})
            for user in users or []:
                p = person(user)
                seen.setdefault(p.id, p)
    return list(seen.values())
