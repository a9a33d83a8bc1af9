"""``manage.py qcluster``: django-q2's command, with the processing gate evaluated once in the
cluster's parent process before it forks its workers.

Each condition caches what it loads per process (the master password's scrypt unwrap costs
about 1.6 s on a busy 2-core machine). Warmed here, every worker — and every worker the cluster
reincarnates — inherits it instead of paying it before its first run, which matters most right
after a restart (a killed cluster's integrations wait for it).
"""

from __future__ import annotations

import logging

from django.db import connections
from django_q.management.commands.qcluster import Command as QCluster

from tasktop_hub.conditions import processing_blocked_reason

log = logging.getLogger(__name__)


class Command(QCluster):
    def handle(self, *args, **options) -> None:  # noqa: ANN002, ANN003
        try:
            reason = processing_blocked_reason()
            if reason:
                log.info("Processing is blocked at worker start: %s", reason)
        finally:
            connections.close_all()  # forked workers must not share the parent's sockets
        super().handle(*args, **options)
