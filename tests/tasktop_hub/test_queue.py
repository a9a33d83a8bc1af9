"""Each installation's own django-q2 queue: its name, and the tasks an older hub queued under the
shared name (tasktop_hub/queue.py)."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.utils import timezone
from django_q import core_signing
from django_q.brokers.orm import ORM
from django_q.conf import Conf
from django_q.models import OrmQ
from django_q.signing import PickleSerializer, SignedPackage

from tasktop_hub import queue


def test_the_queue_name_comes_from_the_installation_id():
    generated = "0123abcd" + "9" * 24
    assert queue.cluster_name(generated) == "tasktop_hub-0123abcd"
    assert queue.cluster_name(generated.upper()) == "tasktop_hub-0123abcd"
    # An id set by HUB_INSTALLATION_ID is any text: its hash, the same on every machine that sets it.
    assert queue.cluster_name("prod-eu") == queue.cluster_name(" prod-eu ")
    assert queue.cluster_name("prod-eu") != queue.cluster_name("prod-us")
    assert queue.cluster_name("prod-eu").startswith("tasktop_hub-") and len(queue.cluster_name("prod-eu")) == 20
    # Two generated ids differing only after their 8th digit would share a queue: not for other text.
    assert queue.cluster_name("deadbeef-a") != queue.cluster_name("deadbeef-b")


def test_this_installation_runs_under_its_own_name():
    assert settings.Q_CLUSTER["name"] == queue.cluster_name(settings.HUB_INSTALLATION_ID) == Conf.CLUSTER_NAME
    assert Conf.CLUSTER_NAME != queue.LEGACY_NAME


def _legacy(task: dict, key: str) -> OrmQ:
    payload = core_signing.dumps(task, key=key, salt=queue.LEGACY_NAME, serializer=PickleSerializer)
    return OrmQ.objects.create(key=queue.LEGACY_NAME, payload=payload, lock=timezone.now())


@pytest.mark.django_db
def test_this_installations_tasks_under_the_old_name_move_into_its_queue_and_others_stay():
    mine = _legacy({"id": "mine", "func": "integrations.tasks.dispatcher_tick"}, settings.SECRET_KEY)
    theirs = _legacy({"id": "theirs", "func": "x"}, "another installation's secret key")
    assert queue.adopt_legacy_tasks() == 1
    assert queue.adopt_legacy_tasks() == 0
    theirs.refresh_from_db()
    assert theirs.key == queue.LEGACY_NAME  # left for the installation that can read it
    # The moved task is readable by this installation's pusher: its broker takes it, it unpacks.
    taken = ORM(list_key=Conf.CLUSTER_NAME).dequeue()
    assert [pk for pk, _ in taken] == [mine.pk]
    assert SignedPackage.loads(taken[0][1])["id"] == "mine"
