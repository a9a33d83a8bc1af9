"""``manage.py qcluster``: django-q2's command, with the processing gate evaluated once in the
cluster's parent process before it forks its workers (with this installation's tasks queued under the
old shared queue name moved into its own queue: tasktop_hub/queue.py), and a stop its long tasks can see.

Each condition caches what it loads per process (the master password's scrypt unwrap costs
about 1.6 s on a busy 2-core machine). Warmed here, every worker — and every worker the cluster
reincarnates — inherits it instead of paying it before its first run, which matters most right
after a restart (a killed cluster's integrations wait for it).

On SIGTERM/SIGINT the cluster marks itself stopping (``tasktop_hub.shutdown``) before django-q2
waits for its workers: the engine's dispatcher loop ends its turn at once and enqueues no successor.
"""

from __future__ import annotations

import logging
import os
import time
from typing import Any

from django.conf import settings
from django.db import connections
from django_q.cluster import Cluster
from django_q.management.commands.qcluster import Command as QCluster

from tasktop_hub import queue as hub_queue
from tasktop_hub import shutdown
from tasktop_hub.conditions import processing_blocked_reason

log = logging.getLogger(__name__)


class HubCluster(Cluster):
    def sig_handler(self, signum: int, frame: Any) -> None:
        shutdown.request_stop()
        super().sig_handler(signum, frame)


class Command(QCluster):
    def handle(self, *args, **options) -> None:  # noqa: ANN002, ANN003
        try:
            reason = processing_blocked_reason()
            if reason:
                log.info("Processing is blocked at worker start: %s", reason)
            # Tasks an older hub queued under the shared name go into this installation's queue.
            hub_queue.adopt_legacy_tasks()
        finally:
            connections.close_all()  # forked workers must not share the parent's sockets
        # As django-q2's own command does, with the hub's cluster class.
        settings.SECRET_KEY  # noqa: B018  # the cluster signs its payloads with it
        if options.get("cluster_name"):
            os.environ["Q_CLUSTER_NAME"] = options["cluster_name"]
        shutdown.mark_cluster_process()
        cluster = HubCluster()
        try:
            cluster.start()
            if options.get("run_once", False):
                cluster.stop()
            # start() returns once the cluster runs; the flag must outlive the workers, so wait here
            # (the signal handler, run in this thread, stops the sentinel and its workers).
            while cluster.sentinel is not None and cluster.sentinel.is_alive():
                time.sleep(0.2)
        finally:
            shutdown.clear()
