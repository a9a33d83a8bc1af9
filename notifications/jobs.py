"""Background jobs: a small runner over django-q2 that records status, progress and a log.

A job is a subclass of :class:`Job` registered with :func:`register`. :func:`enqueue` creates
the :class:`BackgroundJob` row and hands only its id to django-q2 (task arguments are pickled
in the broker, so nothing else, least of all a secret, travels with it).
"""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, ClassVar

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F, Value
from django.db.models.functions import Concat
from django.utils import timezone

from notifications.models import BackgroundJob
from tasktop_hub import roles

log = logging.getLogger(__name__)

_registry: dict[str, type[Job]] = {}
# Jobs executing in this process: a drain that runs inside one of them does not wait for itself.
_executing: set[int] = set()


class JobCancelled(Exception):
    """Raised inside a job when someone asked to cancel it; the runner records 'cancelled'."""


class JobFailed(Exception):
    """A failure whose message is written for people: Activity shows it as it is."""


class Job:
    """Base class: set ``kind`` and ``title`` and implement :meth:`run`."""

    kind: ClassVar[str]
    title: ClassVar[str]
    # Who may start it (that role or a stronger one); checked in enqueue() for every caller.
    started_by: ClassVar[str] = roles.ADMINISTRATORS
    # Progress writes are throttled: a job may call progress() per row without a write per row.
    progress_interval: ClassVar[float] = 0.5
    # Parameters the job needs but no screen or API shows (e.g. a sealed password): shown as SEALED.
    sealed_params: ClassVar[tuple[str, ...]] = ()

    def __init__(self, record: BackgroundJob) -> None:
        self.record = record
        self._last_progress_write = 0.0
        self.last_done: int | None = None

    def validate(self, params: dict[str, Any]) -> dict[str, Any]:
        """Check and normalise the parameters before the job is queued."""
        return params

    # run(**params) does the work; each job names its own keyword parameters (the ones
    # validate() returns), so the base declares only that it is callable with keywords.
    run: Callable[..., Any]

    # -- helpers for run() --

    def progress(self, done: int, total: int | None = None, *, force: bool = False) -> None:
        self.last_done = done  # written with the final status even when this write is skipped
        now = time.monotonic()
        if not force and now - self._last_progress_write < self.progress_interval:
            return
        self._last_progress_write = now
        fields: dict[str, Any] = {"progress_done": done}
        if total is not None:
            fields["progress_total"] = total
        BackgroundJob.objects.filter(pk=self.record.pk).update(**fields)
        self.stop_if_cancelled()

    def log(self, message: str) -> None:
        line = f"{timezone.now():%Y-%m-%d %H:%M:%S} {message}\n"
        BackgroundJob.objects.filter(pk=self.record.pk).update(log=Concat(F("log"), Value(line)))
        log.info("[job %s %s] %s", self.record.pk, self.kind, message)

    def cancelled(self) -> bool:
        """Whether someone asked to cancel this job (see :func:`cancel`)."""
        return bool(BackgroundJob.objects.filter(pk=self.record.pk).values_list("cancel_requested", flat=True)
                    .first())

    def stop_if_cancelled(self) -> None:
        """Call between chunks of work (``progress()`` does, at each of its writes): if a cancel was
        asked, stop here — raising :class:`JobCancelled`, which the runner records as 'cancelled'.
        A job should call it only where stopping leaves its work consistent (a chunk committed)."""
        if self.cancelled():
            raise JobCancelled()


def register(cls: type[Job]) -> type[Job]:
    if cls.kind in _registry and _registry[cls.kind] is not cls:
        raise ValueError(f"Job kind '{cls.kind}' is registered twice.")
    _registry[cls.kind] = cls
    return cls


def registered() -> list[type[Job]]:
    return list(_registry.values())


def may_cancel(record: BackgroundJob, actor: AbstractBaseUser | AnonymousUser | None) -> bool:
    """Whether the Activity screen offers Cancel for this job to this user (cancel() decides)."""
    if record.status not in (BackgroundJob.Status.QUEUED, BackgroundJob.Status.RUNNING) or record.cancel_requested:
        return False
    cls = _registry.get(record.kind)
    return roles.has_role(actor, cls.started_by if cls else roles.ADMINISTRATORS)


def check_may_start(cls: type[Job], actor: AbstractBaseUser | AnonymousUser | None) -> None:
    """The one check of who may start a job kind: its ``started_by`` role or a stronger one.

    ``actor=None`` is the hub itself (a periodic task, a command run by the operator).
    """
    if actor is None or roles.has_role(actor, cls.started_by):
        return
    raise PermissionDenied(f"Starting '{cls.title}' needs the {cls.started_by} role; "
                           f"you are in {roles.role_of(actor) or 'no role'}.")


SEALED = "(sealed)"


def shown_params(kind: str, params: Any) -> Any:
    """A job's parameters as the API, the admin and the Activity screen show them: the values its
    kind seals replaced by SEALED (they stay in the row, for the worker that runs it)."""
    cls = _registry.get(kind)
    if not cls or not cls.sealed_params or not isinstance(params, dict):
        return params
    return {k: (SEALED if k in cls.sealed_params and v else v) for k, v in params.items()}


def enqueue(
    kind: str, params: dict[str, Any] | None = None, actor: AbstractBaseUser | AnonymousUser | None = None
) -> BackgroundJob:
    from notifications.services import record_audit, user_or_none

    try:
        cls = _registry[kind]
    except KeyError:
        known = ", ".join(sorted(_registry)) or "none"
        raise ValidationError({"kind": f"Unknown job kind '{kind}'. Known kinds: {known}."}) from None
    check_may_start(cls, actor)
    params = cls(BackgroundJob(kind=kind)).validate(dict(params or {}))
    user = user_or_none(actor)
    with transaction.atomic():
        record = BackgroundJob.objects.create(kind=kind, title=cls.title, params=params, created_by=user)
        record_audit(actor, "job.enqueue", f"job:{record.pk}", kind=kind)
        transaction.on_commit(lambda: _dispatch(record.pk))
    return record


def _dispatch(job_id: int) -> None:
    from django_q.tasks import async_task

    task_id = async_task("notifications.tasks.run_background_job", job_id, task_name=f"job-{job_id}")
    BackgroundJob.objects.filter(pk=job_id).update(task_id=str(task_id or ""))


def cancel(job_id: int, actor: AbstractBaseUser | AnonymousUser | None = None) -> BackgroundJob:
    """Ask a job to stop. A queued job is cancelled at once (the worker's claim then finds nothing
    to run); a running one gets ``cancel_requested`` and stops at its next check between chunks
    (:meth:`Job.stop_if_cancelled`), when the runner records 'cancelled'. Whoever may start the
    job's kind may cancel it; audited.
    """
    from notifications.services import record_audit

    with transaction.atomic():
        record = BackgroundJob.objects.select_for_update().filter(pk=job_id).first()
        if record is None:
            raise ValidationError(f"Background job {job_id} does not exist.")
        cls = _registry.get(record.kind)
        if cls is not None:
            check_may_start(cls, actor)
        elif actor is not None and not roles.has_role(actor, roles.ADMINISTRATORS):
            raise PermissionDenied("Only administrators may cancel a job of a kind this hub does not know.")
        was = record.status
        if record.status == BackgroundJob.Status.QUEUED:
            record.status = BackgroundJob.Status.CANCELLED
            record.finished_at = timezone.now()
        elif record.status != BackgroundJob.Status.RUNNING:
            raise ValidationError("Only a queued or running job can be cancelled.")
        elif record.cancel_requested:
            raise ValidationError("Cancelling was already asked; the job stops at its next check.")
        record.cancel_requested = True
        record.save(update_fields=["status", "finished_at", "cancel_requested"])
        record_audit(actor, "job.cancel", f"job:{record.pk}", kind=record.kind, was=was)
    return record


@contextmanager
def executing(job_id: int) -> Iterator[None]:
    """Mark a job as running in this process (the drain's probe leaves it out)."""
    _executing.add(job_id)
    try:
        yield
    finally:
        _executing.discard(job_id)


def _wait_while_frozen() -> None:
    """While the hub's data is being moved (tasktop_hub.write_guard), a job waits instead of
    writing to the database that is about to be left; then it runs on whichever database is
    active (its row was copied with the rest when it was queued before the move)."""
    from tasktop_hub import write_guard

    while write_guard.frozen_reason():
        time.sleep(1.0)


def running_jobs() -> list[str]:
    """The drain's probe (tasktop_hub.inflight): background jobs running in any process."""
    from datetime import timedelta

    from django.conf import settings

    # One running past django-q2's timeout has no worker left (fail_abandoned marks it failed).
    since = timezone.now() - timedelta(seconds=settings.Q_CLUSTER["timeout"] + 60)
    rows = BackgroundJob.objects.filter(status=BackgroundJob.Status.RUNNING, started_at__gte=since) \
        .exclude(pk__in=_executing)
    return [f"background job #{pk} \"{title}\" (started {started:%H:%M:%S} UTC)" if started else
            f"background job #{pk} \"{title}\"" for pk, title, started in rows.values_list("pk", "title", "started_at")]


def execute(job_id: int) -> None:
    """Run one job. Claims the row with a conditional update so a redelivered task is a no-op."""
    from tasktop_hub import write_guard

    while True:
        _wait_while_frozen()
        claimed = BackgroundJob.objects.filter(pk=job_id, status=BackgroundJob.Status.QUEUED).update(
            status=BackgroundJob.Status.RUNNING, started_at=timezone.now()
        )
        if not claimed:
            log.info("Job %s is not queued any more; skipping.", job_id)
            return
        if not write_guard.frozen_reason():
            break
        # A move began between the check and the claim, and its drain may have looked before
        # the claim: hand the job back and wait like the others.
        BackgroundJob.objects.filter(pk=job_id, status=BackgroundJob.Status.RUNNING).update(
            status=BackgroundJob.Status.QUEUED, started_at=None)
    record = BackgroundJob.objects.get(pk=job_id)
    job = _registry[record.kind](record)
    try:
        with executing(job_id):
            result = job.run(**record.params)
    except JobCancelled:
        job.log("Cancelled on request; stopped between chunks.")
        stopped: dict[str, Any] = {"status": BackgroundJob.Status.CANCELLED, "finished_at": timezone.now()}
        if job.last_done is not None:
            stopped["progress_done"] = job.last_done
        BackgroundJob.objects.filter(pk=job_id, status=BackgroundJob.Status.RUNNING).update(**stopped)
        return
    except Exception as exc:
        log.exception("Job %s (%s) failed", job_id, record.kind)
        job.log(f"Failed: {exc}")
        BackgroundJob.objects.filter(pk=job_id).update(
            status=BackgroundJob.Status.FAILED, error=_describe(exc), finished_at=timezone.now()
        )
        return
    record.refresh_from_db(fields=["progress_total", "progress_done"])
    done = record.progress_total if record.progress_total is not None else record.progress_done
    BackgroundJob.objects.filter(pk=job_id, status=BackgroundJob.Status.RUNNING).update(
        status=BackgroundJob.Status.SUCCEEDED, result=result, progress_done=done, finished_at=timezone.now()
    )


def _describe(exc: Exception) -> str:
    if isinstance(exc, JobFailed):
        return str(exc)[:2000]
    last = traceback.format_exception_only(type(exc), exc)[-1].strip()
    return last[:2000]


def fail_abandoned(now: Any = None) -> int:
    """Mark jobs whose worker can no longer be running them as failed.

    django-q2 kills a task at its timeout, and a killed worker runs no code at all, so a job
    still 'running' after the timeout (plus a margin) has no process behind it. Without
    this it would show 'running' forever and block nothing but confuse everyone.
    """
    from datetime import timedelta

    from django.conf import settings

    now = now or timezone.now()
    limit = timedelta(seconds=settings.Q_CLUSTER["timeout"] + 60)
    stale = BackgroundJob.objects.filter(status=BackgroundJob.Status.RUNNING, started_at__lt=now - limit)
    message = (
        f"The worker stopped before the job finished (killed, or over the {settings.Q_CLUSTER['timeout']} s "
        "task timeout). Start the job again; it continues safely."
    )
    count = stale.update(status=BackgroundJob.Status.FAILED, error=message, finished_at=now)
    if count:
        log.warning("Marked %d abandoned background job(s) as failed.", count)
    return count


def record_periodic_run(kind: str, title: str, started_at: Any, log_lines: list[str], result: Any) -> BackgroundJob:
    """A periodic run that did real work, shown on the Activity screen as a finished job.

    Runs that find nothing to do leave no row (a 1-minute schedule would bury every other job).
    """
    return BackgroundJob.objects.create(
        kind=kind, title=title, status=BackgroundJob.Status.SUCCEEDED, started_at=started_at,
        finished_at=timezone.now(), log="\n".join(log_lines), result=result,
    )
