"""Background work as django-tasks tasks (``from django_tasks import task``, as Wagtail does).

Arguments are primary keys and strings only, so any backend can serialise them: the default
``ImmediateBackend`` runs the task right after the commit in the same process, and a worker backend
such as django-tasks-db's ``DatabaseBackend`` runs it in ``manage.py db_worker``. The backend alias
and queue come from ``WAGTAIL_BGCUT['TASK_BACKEND']`` and ``['TASK_QUEUE']``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from django.db import transaction
from django_tasks import task

from .conf import bgcut_settings

logger = logging.getLogger("wagtail_bgcut")

__all__ = ["enqueue_cutouts", "process_cutouts", "retry_cutouts"]


@task()
def process_cutouts(cutout_ids: list[int], source: list[str] | None = None) -> list[int]:
    """Make these cut-outs (one backend call per source); returns the ids that are now done.

    ``source`` is ``[app_label.Model, pk, field_name]`` of the file the work was asked for, a hint
    for finding the bytes; without it any known file with the same bytes is used.
    """
    from .pipeline import process_cutout_ids

    return process_cutout_ids(cutout_ids, source)


@task()
def retry_cutouts(cutout_ids: list[int]) -> list[int]:
    """Manual retry: take failed rows again even past ``MAX_ATTEMPTS``."""
    from .pipeline import process_cutout_ids

    return process_cutout_ids(cutout_ids, force=True)


def _configured(t):
    return t.using(backend=bgcut_settings.TASK_BACKEND, queue_name=bgcut_settings.TASK_QUEUE)


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
