"""Where a visitor's local-engine upload is cut: a worker task, or a bounded slot in the request.

A site with a worker task backend (django-tasks-db's ``db_worker``, RQ...) gets the work out of
the web process: the ``process/`` view stores the original, enqueues :func:`cut_direct_upload` and
answers 202 with a signed status URL; the browser polls it, and only the visitor who uploaded can
read it. A site on ``ImmediateBackend`` (or a backend that cannot look results up) cuts in the
request, but at most ``DIRECT_UPLOAD_CONCURRENCY`` uploads at once per process: beyond that the
view answers 503 with ``Retry-After`` at once, instead of piling decoded images up in memory.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from django.core import signing
from django.utils.translation import gettext as _
from django_tasks import task, task_backends
from django_tasks.backends.dummy import DummyBackend
from django_tasks.backends.immediate import ImmediateBackend

from ..backends.base import get_backend
from ..conf import bgcut_settings
from ..exceptions import BackendError, UnknownPreset
from ..models import cutout_storage
from ..presets import get_preset
from .finalize import OutputFile, ResultError, delete_files, save_local_outputs

__all__ = [
    "Busy",
    "Job",
    "cut",
    "cut_direct_upload",
    "enqueue_cut",
    "in_worker",
    "read_job",
    "release_memory",
    "work_slot",
]

JOB_SALT = "wagtail_bgcut.direct_upload.job"
#: Seconds a visitor is asked to wait before trying again when every slot is taken.
BUSY_RETRY_AFTER = 5


def release_memory() -> None:
    """Give a failed job's memory back to the system, not only to Python's allocator.

    glibc keeps freed arenas mapped; without ``malloc_trim`` one huge failed image leaves the worker
    process gigabytes larger for the rest of its life.
    """
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):  # not glibc (macOS, musl): nothing to trim
        ctypes.CDLL("libc.so.6").malloc_trim(0)


# -- the in-request path: a bounded number of slots per process -----------------------------------


class Busy(Exception):
    """Every work slot of this process is taken; come back after ``retry_after`` seconds."""

    retry_after = BUSY_RETRY_AFTER


_slots: dict[int, threading.BoundedSemaphore] = {}
_slots_lock = threading.Lock()


def _semaphore() -> threading.BoundedSemaphore:
    size = max(1, int(bgcut_settings.DIRECT_UPLOAD_CONCURRENCY))
    with _slots_lock:
        if size not in _slots:  # one per configured size, so a changed setting takes effect
            _slots[size] = threading.BoundedSemaphore(size)
        return _slots[size]


@contextlib.contextmanager
def work_slot() -> Iterator[None]:
    """Hold one of this process's ``DIRECT_UPLOAD_CONCURRENCY`` slots, or raise :class:`Busy`.

    Never waits: a waiting thread would still hold its request's upload in memory, which is the
    pile-up the limit exists to prevent.
    """
    semaphore = _semaphore()
    if not semaphore.acquire(blocking=False):
        raise Busy()
    try:
        yield
    finally:
        semaphore.release()


def cut(data: bytes, presets: Sequence[str]) -> dict[str, OutputFile]:
    """Every preset's output of ``data`` from the site's engine; ResultError saying why not."""
    try:
        variants = [get_preset(p) for p in presets]
        result = get_backend().process(data, variants)
        return {
            p: OutputFile(o.read(), o.format, o.width, o.height) for p, o in result.outputs.items()
        }
    except (BackendError, UnknownPreset) as exc:
        release_memory()
        raise ResultError(str(getattr(exc, "detail", "") or exc), 400) from None
    except MemoryError:
        release_memory()
        raise ResultError(
            _("This image needs more memory than the server can give it."), 413
        ) from None


# -- the worker path ------------------------------------------------------------------------------


def _configured(t: Any) -> Any:
    return t.using(backend=bgcut_settings.TASK_BACKEND, queue_name=bgcut_settings.TASK_QUEUE)


def in_worker() -> bool:
    """Whether public uploads are cut by a worker: the configured task backend runs tasks in
    other processes (not ``ImmediateBackend``/``DummyBackend``) and can look results up, which
    the status URL needs."""
    backend = task_backends[bgcut_settings.TASK_BACKEND]
    if isinstance(backend, ImmediateBackend | DummyBackend):
        return False
    return bool(backend.supports_get_result)


@task()
def cut_direct_upload(
    unique_filename: str, presets: list[str], source_name: str, expires: int
) -> dict[str, Any]:
    """Cut a stored public upload; returns what the status view needs (never raised to the user).

    The original stays as it was stored; the outputs and the manifest finalize reads go next to
    it. An upload whose ticket expired while it waited is not cut at all. On failure the stored
    original is deleted (nothing left behind) and the reason returned.
    """
    if time.time() > expires:
        delete_files([source_name])
        return {"ok": False, "code": "expired"}
    try:
        with cutout_storage.open(source_name, "rb") as fh:
            data = fh.read()
    except OSError:
        return {"ok": False, "code": "missing"}
    try:
        outputs = cut(data, presets)
        names = save_local_outputs(unique_filename, source_name, outputs)
    except ResultError as exc:
        delete_files([source_name])
        return {"ok": False, "code": "refused", "status": exc.status, "detail": str(exc)}
    return {"ok": True, "input": source_name, "outputs": {p: names[p] for p in presets}}


@dataclass(frozen=True)
class Job:
    """What the signed status URL carries: the task result, whose upload it is, until when."""

    result_id: str
    binding: str
    unique_filename: str
    presets: tuple[str, ...]
    expires: int

    def sign(self) -> str:
        payload = {
            "r": self.result_id,
            "b": self.binding,
            "f": self.unique_filename,
            "p": list(self.presets),
            "e": self.expires,
        }
        return signing.dumps(payload, salt=JOB_SALT, compress=True)


def read_job(value: object) -> Job | None:
    """The job a status URL names, or None when it is missing, forged or malformed."""
    if not isinstance(value, str) or not value or len(value) > 2048:
        return None
    try:
        data = signing.loads(value, salt=JOB_SALT)
        return Job(
            result_id=str(data["r"]),
            binding=str(data["b"]),
            unique_filename=str(data["f"]),
            presets=tuple(str(p) for p in data["p"]),
            expires=int(data["e"]),
        )
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return None


def enqueue_cut(
    *, binding: str, unique_filename: str, presets: Sequence[str], source_name: str, expires: int
) -> Job:
    """Queue the cut on the configured task backend; the job for the status URL."""
    result = _configured(cut_direct_upload).enqueue(
        unique_filename, list(presets), source_name, int(expires)
    )
    return Job(str(result.id), binding, unique_filename, tuple(presets), int(expires))


def job_result(job: Job) -> Any:
    """The task's result as the task backend reports it (django-tasks' ``get_result``)."""
    return _configured(cut_direct_upload).get_result(job.result_id)
