"""The cut-out pipeline: find what is missing for a source, get it in one backend call, store it.

Public functions (used by the template tag, the image operation, tasks, signals and commands):

- :func:`request_cutouts` makes sure rows exist and queues background work; never waits.
- :func:`process_now` does the work in this process and returns the rows (PROCESS_ON_RENDER, tests).
- :func:`retry` takes failed rows again, even past ``MAX_ATTEMPTS``.
- :func:`process_cutout_ids` is what the background task runs.
- :func:`purge_renditions` drops Wagtail renditions built from a stale or uncut image.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from ..backends.base import BaseBackend, get_backend
from ..models import Cutout, SourceFile
from ..sources import hash_source, read_source, source_fieldfile
from .rows import Status, claim, ensure_cutouts, needs_work
from .run import describe_error, fail, run_claims
from .sources import SourceRef, bytes_for_hash, source_ref

__all__ = [
    "Status",
    "describe_error",
    "ensure_cutouts",
    "forget_source",
    "free_unreferenced",
    "hash_source",
    "needs_work",
    "process_cutout_ids",
    "process_now",
    "purge_renditions",
    "rehash_source",
    "request_cutouts",
    "retry",
]

logger = logging.getLogger("wagtail_bgcut")


def _names(preset_names: str | Iterable[str]) -> list[str]:
    return [preset_names] if isinstance(preset_names, str) else list(preset_names)


def request_cutouts(
    source: Any, preset_names: str | Iterable[str], *, rehash: bool = False
) -> list[Cutout]:
    """Make sure the rows for these presets exist and queue work for those not done yet.

    The work is enqueued in ``transaction.on_commit`` (with django-tasks' ImmediateBackend it runs
    right after the commit, in this process). Returns the rows as they were before that work; a
    source with no file gives ``[]``. Unknown preset names raise ``UnknownPreset``.

    ``rehash`` reads the file even if its name was hashed before (the save signals pass it: a
    storage that overwrites files in place can give a known name new bytes).
    """
    names = _names(preset_names)
    fieldfile = source_fieldfile(source)
    if not fieldfile or not names:
        return []
    source_file = rehash_source(fieldfile) if rehash else hash_source(fieldfile)
    rows = ensure_cutouts(source_file.sha256, names, get_backend())
    todo = sorted({c.pk for c in rows if needs_work(c)})
    if todo:
        from ..tasks import enqueue_cutouts

        enqueue_cutouts(todo, source_ref(fieldfile))
    return rows


def process_now(source: Any, preset_names: str | Iterable[str]) -> list[Cutout]:
    """Make the missing cut-outs in this process, in one backend call, and return fresh rows.

    Rows another worker holds (lease not expired) are returned as they are, not waited for.
    """
    names = _names(preset_names)
    fieldfile = source_fieldfile(source)
    if not fieldfile or not names:
        return []
    backend = get_backend()
    source_file = hash_source(fieldfile)
    rows = ensure_cutouts(source_file.sha256, names, backend)
    if any(needs_work(c) for c in rows):
        _, data = read_source(fieldfile)
        _process(source_file.sha256, data, claim(rows), backend)
        rows = _refresh(rows)
    return rows


def rehash_source(fieldfile) -> SourceFile:
    """Read the file again and update its hash; frees the old bytes' cut-outs if orphaned."""
    from ..sources import name_key

    before = (
        SourceFile.objects.filter(name_key=name_key(fieldfile))
        .values_list("sha256", flat=True)
        .first()
    )
    source_file, _ = read_source(fieldfile)
    if before and before != source_file.sha256:
        # The file was overwritten in place: the old bytes' cut-outs go unless shared.
        free_unreferenced([before])
    return source_file


def _refresh(rows: Sequence[Cutout]) -> list[Cutout]:
    fresh = Cutout.objects.in_bulk([c.pk for c in rows])
    return [fresh.get(c.pk, c) for c in rows]


def _process(source_hash: str, data: bytes, claims, backend: BaseBackend) -> list[int]:
    done = run_claims(source_hash, data, claims, backend)
    if done:
        after_done(source_hash)
    return done


def after_done(source_hash: str) -> None:
    """New cut-outs exist for these bytes: fill model fields and drop stale renditions."""
    from ..fields import fill_fields_for_hash

    try:
        fill_fields_for_hash(source_hash)
    except Exception:
        logger.exception("wagtail_bgcut: filling cut-out fields for %s failed", source_hash[:12])
    _purge_for_hash(source_hash)


def process_cutout_ids(
    cutout_ids: Iterable[int], ref: SourceRef | None = None, *, force: bool = False
) -> list[int]:
    """Process these rows (grouped by source: one backend call per source); the ids now done.

    Rows that are done or held by a live worker are skipped. ``force`` takes failed rows past
    ``MAX_ATTEMPTS`` too (manual retry). A source whose bytes cannot be found fails its rows with
    that reason.
    """
    rows = Cutout.objects.filter(pk__in=list(cutout_ids)).order_by("pk")
    groups: dict[str, list[Cutout]] = defaultdict(list)
    for row in rows:
        groups[row.source_hash].append(row)
    backend = get_backend()
    done: list[int] = []
    for source_hash, group in groups.items():
        claims = claim(group, force=force)
        if not claims:
            continue
        data = bytes_for_hash(source_hash, ref)
        if data is None:
            fail(claims, "SourceMissing: no readable file with these bytes exists any more.")
            continue
        done += _process(source_hash, data, claims, backend)
    return done


def retry(cutout_ids: Iterable[int]) -> list[Cutout]:
    """Manually retry failed (or stuck) rows, even past ``MAX_ATTEMPTS``; returns fresh rows."""
    ids = list(cutout_ids)
    process_cutout_ids(ids, force=True)
    return list(Cutout.objects.filter(pk__in=ids).order_by("pk"))


def purge_renditions(source: Any) -> None:
    """Drop Wagtail renditions of ``source`` that may hold an uncut or stale image.

    The body lives with the image operation (``image_operations.purge_bgcut_renditions``); this is
    a no-op when that module is absent.
    """
    try:
        from ..image_operations import purge_bgcut_renditions
    except ImportError:
        return
    purge_bgcut_renditions(source)


def _purge_for_hash(source_hash: str) -> None:
    """Purge renditions of every Wagtail image whose file has these bytes."""
    try:
        from wagtail.images import get_image_model

        from ..image_operations import purge_bgcut_renditions  # noqa: F401
    except ImportError:
        return
    names = list(SourceFile.objects.filter(sha256=source_hash).values_list("name", flat=True))
    if not names:
        return
    try:
        for image in get_image_model().objects.filter(file__in=names):
            purge_renditions(image)
    except Exception:
        logger.exception("wagtail_bgcut: purging renditions for %s failed", source_hash[:12])


def free_unreferenced(source_hashes: Iterable[str], *, dry_run: bool = False) -> list[Cutout]:
    """Delete the cut-outs (files and rows) of bytes no ``SourceFile`` refers to any more.

    Another file with the same bytes keeps them. Original files are never touched: only files
    in the cut-out storage that belong to a ``Cutout`` row are deleted. Returns what was (or, with
    ``dry_run``, would be) deleted.
    """
    hashes = set(source_hashes)
    if not hashes:
        return []
    still = set(
        SourceFile.objects.filter(sha256__in=hashes).values_list("sha256", flat=True).distinct()
    )
    orphans = list(Cutout.objects.filter(source_hash__in=hashes - still))
    if dry_run:
        return orphans
    for cutout in orphans:
        if cutout.file:
            try:
                cutout.file.storage.delete(cutout.file.name)
            except Exception:
                logger.exception("wagtail_bgcut: could not delete %s", cutout.file.name)
        cutout.delete()
    return orphans


def forget_source(storage_id: str, name: str) -> list[Cutout]:
    """A source file was deleted or replaced: forget its hash and free orphaned cut-outs.

    Nothing happens while any image or source field still stores that name. The original file
    itself is never touched. Returns the cut-outs freed.
    """
    from ..models import source_name_key
    from .references import name_in_use

    if not name or name_in_use(name):
        return []
    key = source_name_key(storage_id, name)
    hashes = list(SourceFile.objects.filter(name_key=key).values_list("sha256", flat=True))
    SourceFile.objects.filter(name_key=key).delete()
    return free_unreferenced(hashes)
