"""The user limit on every road that creates or activates a user."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db.models.signals import pre_save


def _user_pre_save(sender: Any, instance: Any, raw: bool = False, **kwargs: Any) -> None:
    if raw:
        return
    from licensing.services import check_user_activation

    check_user_activation(instance)


def connect() -> None:
    pre_save.connect(_user_pre_save, sender=get_user_model(), dispatch_uid="licensing-user-limit")
