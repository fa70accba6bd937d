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

from collections.abc import Iterable, Sequence
from typing import Any

from django.db import transaction
from django_tasks import task

from .backends.base import get_backend
from .conf import bgcut_settings
from .models import Cutout
from .pipeline import ensure_cutouts, needs_work, process_cutout_ids
from .pipeline.cleanup import rehash_source
from .pipeline.processing import preset_names
from .pipeline.source_bytes import source_ref
from .source_hashes import hash_source, source_fieldfile

__all__ = [
    "enqueue_cutouts",
    "enqueue_retry",
    "process_cutouts",
    "request_cutouts",
    "request_redo",
    "retry_cutouts",
]


@task()
def process_cutouts(cutout_ids: list[int], source: list[str] | None = None) -> list[int]:
    """Make these cut-outs (one backend call per source); returns the ids that are now done.

    ``source`` is ``[app_label.Model, pk, field_name]`` of the file the work was asked for, a hint
    for finding the bytes; without it any known file with the same bytes is used.
    """
    return process_cutout_ids(cutout_ids, source)


@task()
def retry_cutouts(cutout_ids: list[int]) -> list[int]:
    """Manual retry: take failed rows again even past ``MAX_ATTEMPTS``."""
    return process_cutout_ids(cutout_ids, force=True)


def _configured(t):
    return t.using(backend=bgcut_settings.TASK_BACKEND, queue_name=bgcut_settings.TASK_QUEUE)


def request_cutouts(
    source: Any, presets: str | Iterable[str], *, rehash: bool = False
) -> list[Cutout]:
    """Make sure the rows for these presets exist and queue work for those not done yet.

    Never waits: the work is enqueued in ``transaction.on_commit`` (with django-tasks'
    ImmediateBackend it runs right after the commit, in this process). Returns the rows as they
    were before that work; a source with no file gives ``[]``. Unknown preset names raise
    ``UnknownPreset``.

    ``rehash`` reads the file even if its name was hashed before (the save handlers pass it: a
    storage that overwrites files in place can give a known name new bytes).
    """
    names = preset_names(presets)
    fieldfile = source_fieldfile(source)
    if not fieldfile or not names:
        return []
    source_file = rehash_source(fieldfile) if rehash else hash_source(fieldfile)
    rows = ensure_cutouts(source_file.sha256, names, get_backend())
    todo = sorted({c.pk for c in rows if needs_work(c)})
    if todo:
        enqueue_cutouts(todo, source_ref(fieldfile))
    return rows


def enqueue_cutouts(cutout_ids: Sequence[int], source: list[str] | None = None) -> None:
    """Queue :func:`process_cutouts` once the current transaction commits.

    Enqueuing after the commit means a worker never looks for rows that are not visible yet, and a
    rolled-back save queues nothing.
    """
    ids = [int(i) for i in cutout_ids]

    def enqueue() -> None:
        _configured(process_cutouts).enqueue(ids, source)

    transaction.on_commit(enqueue, robust=True)


def enqueue_retry(cutout_ids: Sequence[int]) -> None:
    """Queue a manual retry of these rows once the current transaction commits."""
    ids = [int(i) for i in cutout_ids]
    transaction.on_commit(lambda: _configured(retry_cutouts).enqueue(ids), robust=True)


def request_redo(cutout_ids: Iterable[int], *, enqueue: bool = True) -> list[int]:
    """Make finished cut-outs again (each a new paid call); returns the ids sent back to work.

    Only ``done`` rows are taken. They go back to ``pending`` with their file kept: renditions
    already made from it are served until the new file is stored (``cutouts_ready`` then purges
    them), and the credits of both calls are counted. ``enqueue=False`` leaves the work to the
    caller (``bgcut_process --force`` processes in its own process).
    """
    with transaction.atomic():
        ids = list(
            Cutout.objects.select_for_update()
            .filter(pk__in=list(cutout_ids), status=Cutout.Status.DONE)
            .values_list("pk", flat=True)
        )
        Cutout.objects.filter(pk__in=ids).update(
            status=Cutout.Status.PENDING, attempts=0, error="", lease_expires_at=None
        )
    if ids and enqueue:
        enqueue_cutouts(ids)
    return ids
