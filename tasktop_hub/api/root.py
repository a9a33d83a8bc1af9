"""The one API root (``/api/v1/``): a link to every collection the apps' routers register.

The apps use ``SimpleRouter`` (no root of their own); two ``DefaultRouter`` roots under one
prefix shadowed each other, so the root listed only the first app's collections.
"""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, get_resolver, reverse
from drf_spectacular.utils import extend_schema
from rest_framework.decorators import api_view
from rest_framework.request import Request
from rest_framework.response import Response


def _list_routes(patterns: list[URLPattern | URLResolver]) -> list[str]:
    names: list[str] = []
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            names.extend(_list_routes(pattern.url_patterns))
        elif pattern.name and pattern.name.endswith("-list"):
            names.append(pattern.name)
    return names


@extend_schema(exclude=True)  # not a resource: documented in README.md
@api_view(["GET"])
def api_root(request: Request) -> Response:
    """Links to the API's collections; every other route is in the schema (``/api/schema/``)."""
    links = {}
    for name in _list_routes(get_resolver().url_patterns):
        url = reverse(name)
        if url.startswith("/api/v1/"):
            links[url.removeprefix("/api/v1/").rstrip("/")] = request.build_absolute_uri(url)
    return Response(dict(sorted(links.items())))
