"""Background work as django-tasks tasks (``from django_tasks import task``, as Wagtail does).

Scheduling flows one way: a signal handler, a render or a view calls :func:`request_cutouts`,
which makes sure the rows exist and enqueues :func:`process_cutouts`; the task calls the pipeline.
The pipeline never imports this module, so it cannot queue work behind the caller's back.

Arguments are primary keys and strings only, so any backend can serialise them: the default
``ImmediateBackend`` runs the task right after the commit in the same process, and a worker backend
such as django-tasks-db's ``DatabaseBackend`` runs it in ``manage.py db_worker``. The backend alias
and queue come from ``WAGTAIL_BGCUT['TASK_BACKEND']`` and ``['TASK_QUEUE']``.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone
from django_tasks import task

from .backends.base import get_backend
from .conf import bgcut_settings
from .models import Cutout
from .pipeline import ensure_cutouts, needs_work, process_cutout_ids
from .pipeline.cleanup import rehash_source
from .pipeline.processing import preset_names
from .pipeline.source_bytes import source_ref
from .source_hashes import hash_source, source_fieldfile

logger = logging.getLogger("wagtail_bgcut")

__all__ = [
    "enqueue_cutouts",
    "enqueue_retry",
    "process_cutouts",
    "request_cutouts",
    "request_redo",
    "requested_by",
    "retry_cutouts",
]

# The user on whose behalf work is being asked for, inside `requested_by(user)`: image saves made
# by an admin view (AI Cut's save, save as new, replace) reach request_cutouts through Wagtail's
# signals, which do not carry the request.
_requester: contextvars.ContextVar[Any] = contextvars.ContextVar("bgcut_requester", default=None)


def _who(user: Any) -> Any:
    """The user to record as ``Cutout.requested_by``: an authenticated user, or None."""
    return user if getattr(user, "is_authenticated", False) else None


@contextlib.contextmanager
def requested_by(user: Any) -> Iterator[None]:
    """Work asked for inside this block is charged to ``user``'s budget cap (see
    :func:`request_cutouts`); an anonymous or missing user changes nothing."""
    token = _requester.set(_who(user))
    try:
        yield
    finally:
        _requester.reset(token)


def _mark_requested(ids: Sequence[int], user: Any) -> None:
    """Record who asked for the work on these rows (nothing when no one did)."""
    user = _who(user)
    if ids and user is not None:
        Cutout.objects.filter(pk__in=list(ids)).update(requested_by=user)


@task()
def process_cutouts(cutout_ids: list[int], source: list[str] | None = None) -> list[int]:
    """Make these cut-outs (one backend call per source); returns the ids that are now done.

    ``source`` is ``[app_label.Model, pk, field_name]`` of the file the work was asked for, a hint
    for finding the bytes; without it any known file with the same bytes is used.

    Self-healing, on the task backend's own delayed runs (``run_after``): before any call, the
    job queues a check of its rows for just after its lease would expire (the lease is renewed
    while the job lives), so if this worker dies another one takes the rows; after the call it
    queues the automatic retry of transient failures at their ``next_attempt_at``. A backend
    without ``run_after`` (ImmediateBackend) gets neither: see docs/tasks.md.
    """
    ids = [int(i) for i in cutout_ids]
    claimed: list[int] = []

    def watch(claimed_ids: list[int], lease: datetime) -> None:
        claimed.extend(claimed_ids)
        _follow_up(claimed_ids, source, lease + LEASE_MARGIN)

    done = process_cutout_ids(ids, source, on_claimed=watch)
    _schedule_next(ids, source, retries=bool(claimed))
    return done


@task()
def retry_cutouts(cutout_ids: list[int]) -> list[int]:
    """Manual retry: take failed rows again even past ``MAX_ATTEMPTS``."""
    return process_cutout_ids(cutout_ids, force=True)


def _configured(t):
    return t.using(backend=bgcut_settings.TASK_BACKEND, queue_name=bgcut_settings.TASK_QUEUE)


# How long after a lease expires the dead-worker check runs: enough for clocks a little apart.
LEASE_MARGIN = timedelta(seconds=2)
# Delayed runs are queued this much after the attempt is due: RQ's scheduler counts whole seconds.
SCHEDULER_SLACK = timedelta(seconds=1)


def can_defer() -> bool:
    """Whether the configured task backend runs tasks later (``run_after``)."""
    return bool(_configured(process_cutouts).get_backend().supports_defer)


def _follow_up(ids: Sequence[int], source: list[str] | None, when: datetime) -> None:
    """Queue :func:`process_cutouts` for these rows to run no sooner than ``when``."""
    try:
        if not ids or not can_defer():
            return
        when = max(when, timezone.now())
        _configured(process_cutouts).using(run_after=when).enqueue(sorted(ids), source)
    except Exception:
        # The work itself must not fail for it: without the check, a render, a save or
        # `bgcut_process --recover` still finds the rows (docs/tasks.md).
        logger.exception("wagtail_bgcut: could not queue the follow-up check of %s", list(ids))


def _schedule_next(ids: Sequence[int], source: list[str] | None, *, retries: bool) -> None:
    """After a run: queue the next look at rows that are not finished yet.

    Rows another worker holds get a check after their (possibly renewed) lease, so the chain of
    checks lasts exactly as long as a live job. ``retries``: this run made calls, so its transient
    failures are queued for their ``next_attempt_at``. A run that found nothing to do queues a
    retry only for rows whose attempt is still ahead (an engine that runs delayed jobs a little
    early, as RQ's one-second scheduler can); checks never multiply beyond that.
    """
    if not can_defer():
        return
    now = timezone.now()
    rows = Cutout.objects.filter(pk__in=list(ids))
    times: list[datetime] = []
    for row in rows:
        if row.status == Cutout.Status.PROCESSING and row.lease_expires_at is not None:
            times.append(row.lease_expires_at + LEASE_MARGIN)
        elif (
            row.status == Cutout.Status.FAILED
            and row.next_attempt_at is not None
            and (retries or row.next_attempt_at > now)
            and row.retryable
            and not row.may_have_been_charged
            and row.attempts < bgcut_settings.MAX_ATTEMPTS
        ):
            times.append(row.next_attempt_at + SCHEDULER_SLACK)
    if times:
        _follow_up([r.pk for r in rows], source, min(times))


def request_cutouts(
    source: Any,
    presets: str | Iterable[str],
    *,
    rehash: bool = False,
    requested_by: Any = None,
) -> list[Cutout]:
    """Make sure the rows for these presets exist and queue work for those not done yet.

    Never waits: the work is enqueued in ``transaction.on_commit`` (with django-tasks'
    ImmediateBackend it runs right after the commit, in this process). Returns the rows as they
    were before that work; a source with no file gives ``[]``. Unknown preset names raise
    ``UnknownPreset``.

    ``rehash`` reads the file even if its name was hashed before (the save handlers pass it: a
    storage that overwrites files in place can give a known name new bytes).

    ``requested_by`` (else the user of an enclosing :func:`requested_by` block) is the editor who
    asked: the rows queued are marked with them and the worker charges their
    ``BUDGET_USER_MONTHLY_CREDITS`` cap. Without a user (code, AUTO_PROCESS saves, renders) the
    rows keep whoever asked before, or none: only the site's cap applies.
    """
    names = preset_names(presets)
    fieldfile = source_fieldfile(source)
    if not fieldfile or not names:
        return []
    source_file = rehash_source(fieldfile) if rehash else hash_source(fieldfile)
    rows = ensure_cutouts(source_file.sha256, names, get_backend())
    todo = sorted({c.pk for c in rows if needs_work(c)})
    if todo:
        user = requested_by if requested_by is not None else _requester.get()
        _mark_requested(todo, user)
        enqueue_cutouts(todo, source_ref(fieldfile))
    return rows


def enqueue_cutouts(cutout_ids: Sequence[int], source: list[str] | None = None) -> None:
    """Queue :func:`process_cutouts` once the current transaction commits.

    Enqueuing after the commit means a worker never looks for rows that are not visible yet, and a
    rolled-back save queues nothing. Where the backend runs tasks later, a check of the same rows
    is queued for one lease ahead too: a worker that dies after taking the job but before taking
    the rows (the engine may then never run the job again) leaves them pending, and the check
    takes them.
    """
    ids = [int(i) for i in cutout_ids]

    def enqueue() -> None:
        _configured(process_cutouts).enqueue(ids, source)
        lease = timedelta(seconds=bgcut_settings.LEASE_SECONDS)
        _follow_up(ids, source, timezone.now() + lease + LEASE_MARGIN)

    transaction.on_commit(enqueue, robust=True)


def enqueue_retry(cutout_ids: Sequence[int], requested_by: Any = None) -> None:
    """Queue a manual retry of these rows once the current transaction commits.

    ``requested_by``: the editor who asked; the retry is charged to their budget cap.
    """
    ids = [int(i) for i in cutout_ids]
    _mark_requested(ids, requested_by)
    transaction.on_commit(lambda: _configured(retry_cutouts).enqueue(ids), robust=True)


def request_redo(
    cutout_ids: Iterable[int], *, enqueue: bool = True, requested_by: Any = None
) -> list[int]:
    """Make finished cut-outs again (each a new paid call); returns the ids sent back to work.

    Only ``done`` rows are taken. They go back to ``pending`` with their file kept: renditions
    already made from it are served until the new file is stored (``cutouts_ready`` then purges
    them), and the credits of both calls are counted. ``enqueue=False`` leaves the work to the
    caller (``bgcut_process --force`` processes in its own process). ``requested_by`` is the
    editor who asked (charged to their budget cap); without one the redo is the site's.
    """
    with transaction.atomic():
        ids = list(
            Cutout.objects.select_for_update()
            .filter(pk__in=list(cutout_ids), status=Cutout.Status.DONE)
            .values_list("pk", flat=True)
        )
        Cutout.objects.filter(pk__in=ids).update(
            status=Cutout.Status.PENDING,
            attempts=0,
            error="",
            lease_expires_at=None,
            requested_by=_who(requested_by),
        )
    if ids and enqueue:
        enqueue_cutouts(ids)
    return ids
