"""Doing the work: the rows of one source get one backend call, then the result is announced.

Nothing here queues work or knows who listens: the task layer (:mod:`wagtail_bgcut.tasks`) calls
in, and :data:`~wagtail_bgcut.signals.cutouts_ready` goes out, so model fields, the Wagtail
rendition purge or a site's page-cache purge react without this module importing them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

from ..backends.base import BaseBackend, get_backend
from ..models import Cutout
from ..signals import cutouts_ready
from ..source_hashes import hash_source, read_source, source_fieldfile
from .announce import announce
from .rows import Claim, claim, ensure_cutouts, needs_work
from .run import fail, run_claims
from .source_bytes import SourceRef, bytes_for_hash

__all__ = ["after_done", "preset_names", "process_cutout_ids", "process_now", "retry"]


def preset_names(names: str | Iterable[str]) -> list[str]:
    """One preset name or several, as a list."""
    return [names] if isinstance(names, str) else list(names)


def process_now(source: Any, presets: str | Iterable[str]) -> list[Cutout]:
    """Make the missing cut-outs in this process, in one backend call, and return fresh rows.

    Rows another worker holds (lease not expired) are returned as they are, not waited for. A
    source with no file gives ``[]``; unknown preset names raise ``UnknownPreset``.
    """
    names = preset_names(presets)
    fieldfile = source_fieldfile(source)
    if not fieldfile or not names:
        return []
    backend = get_backend()
    source_file = hash_source(fieldfile)
    rows = ensure_cutouts(source_file.sha256, names, backend)
    if any(needs_work(c) for c in rows):
        _, data = read_source(fieldfile)
        by_requester: dict[int | None, list[Claim]] = defaultdict(list)
        for c in claim(rows):  # one call per requester: see process_cutout_ids
            by_requester[c.cutout.requested_by_id].append(c)
        for claims in by_requester.values():
            _process(source_file.sha256, data, claims, backend)
        fresh = Cutout.objects.in_bulk([c.pk for c in rows])
        rows = [fresh.get(c.pk, c) for c in rows]
    return rows


def process_cutout_ids(
    cutout_ids: Iterable[int],
    ref: SourceRef | None = None,
    *,
    force: bool = False,
    on_claimed: Callable[[list[int], datetime], None] | None = None,
) -> list[int]:
    """Process these rows (grouped by source: one backend call per source); the ids now done.

    Rows that are done or held by a live worker are skipped. ``force`` takes failed rows past
    ``MAX_ATTEMPTS`` (and permanent failures) too: a manual retry. A source whose bytes cannot be
    found fails its rows with that reason. ``on_claimed(ids, lease)`` is told which rows this
    worker took, before any call is made (the task layer queues its dead-worker check there).
    """
    rows = Cutout.objects.filter(pk__in=list(cutout_ids)).order_by("pk")
    groups: dict[tuple[str, int | None], list[Cutout]] = defaultdict(list)
    for row in rows:
        # One call per source AND requester: the call is charged to one user's budget cap.
        groups[(row.source_hash, row.requested_by_id)].append(row)
    backend = get_backend()
    done: list[int] = []
    for (source_hash, _requester), group in groups.items():
        claims = claim(group, force=force)
        if not claims:
            continue
        if on_claimed is not None:
            on_claimed([c.cutout.pk for c in claims], min(c.lease for c in claims))
        data = bytes_for_hash(source_hash, ref)
        if data is None:
            # Retryable: a storage that is down for a moment reads as missing too.
            fail(claims, "SourceMissing: no readable file with these bytes exists any more.")
            continue
        done += _process(source_hash, data, claims, backend)
    return done


def retry(cutout_ids: Iterable[int]) -> list[Cutout]:
    """Manually retry failed (or stuck) rows, even past ``MAX_ATTEMPTS``; returns fresh rows."""
    ids = list(cutout_ids)
    process_cutout_ids(ids, force=True)
    return list(Cutout.objects.filter(pk__in=ids).order_by("pk"))


def _process(
    source_hash: str, data: bytes, claims: Sequence[Claim], backend: BaseBackend
) -> list[int]:
    done = run_claims(source_hash, data, claims, backend)
    if done:
        after_done(source_hash, done)
    return done


def after_done(source_hash: str, cutout_ids: Iterable[int] | None = None) -> None:
    """Announce new cut-outs of these bytes (:data:`~wagtail_bgcut.signals.cutouts_ready`).

    ``cutout_ids`` names the rows this run made; without it, every finished row of the bytes.
    """
    rows = Cutout.objects.filter(source_hash=source_hash, status=Cutout.Status.DONE)
    if cutout_ids is not None:
        rows = rows.filter(pk__in=list(cutout_ids))
    announce(cutouts_ready, source_hash=source_hash, cutouts=list(rows.order_by("pk")))
