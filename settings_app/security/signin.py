"""The sign-in pages with their refusal spelled out when throttled (settings_app/security/throttle.py).

The backend refuses a locked account or address whatever the page; these say so plainly (the
admin login form's error, the token endpoint's 429 with ``Retry-After``) instead of the
generic "wrong password", which would send a locked-out person guessing further.
"""

from __future__ import annotations

from typing import Any

from django.contrib.admin.forms import AdminAuthenticationForm
from django.core.exceptions import ValidationError
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.request import Request
from rest_framework.response import Response

from settings_app.security import throttle


class ThrottledAdminLoginForm(AdminAuthenticationForm):
    def clean(self) -> dict[str, Any]:
        seconds = throttle.locked_for(self.request, self.data.get("username"))
        if seconds:
            raise ValidationError(str(throttle.SignInLocked(seconds).args[0]), code="locked")
        return super().clean()


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField(read_only=True)


class ThrottledObtainAuthToken(ObtainAuthToken):
    """``POST /api/v1/auth/token/``: a token for a user name and password; 429 while locked."""

    @extend_schema(
        request=AuthTokenSerializer,
        responses={200: TokenSerializer,
                   400: OpenApiResponse(description="Wrong user name or password"),
                   429: OpenApiResponse(description="Too many failed sign-ins for this account or address; "
                                                    "the Retry-After header says when to try again")},
    )
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        username = request.data.get("username") if hasattr(request.data, "get") else None
        seconds = throttle.locked_for(request._request, username if isinstance(username, str) else None)
        if seconds:
            raise exceptions.Throttled(wait=seconds, detail=str(throttle.SignInLocked(seconds).args[0]))
        return super().post(request, *args, **kwargs)


obtain_auth_token = ThrottledObtainAuthToken.as_view()
