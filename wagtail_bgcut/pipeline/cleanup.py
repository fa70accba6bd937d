"""Freeing cut-outs whose source bytes no file has any more; originals are never touched."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.db.models.fields.files import FieldFile

from ..models import Cutout, SourceFile, source_name_key
from ..source_fields import name_in_use
from ..source_hashes import name_key, read_source

__all__ = ["forget_source", "free_unreferenced", "rehash_source"]

logger = logging.getLogger("wagtail_bgcut")


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

    Nothing happens while any registered source field (:mod:`..source_fields`) still stores that
    name. The original file itself is never touched. Returns the cut-outs freed.
    """
    if not name or name_in_use(name):
        return []
    key = source_name_key(storage_id, name)
    hashes = list(SourceFile.objects.filter(name_key=key).values_list("sha256", flat=True))
    SourceFile.objects.filter(name_key=key).delete()
    return free_unreferenced(hashes)


def rehash_source(fieldfile: FieldFile) -> SourceFile:
    """Read the file again and update its hash; frees the old bytes' cut-outs if orphaned.

    A storage that overwrites files in place can give a known name new bytes: renders must then
    stop finding the old bytes' cut-outs.
    """
    before = (
        SourceFile.objects.filter(name_key=name_key(fieldfile))
        .values_list("sha256", flat=True)
        .first()
    )
    source_file, _ = read_source(fieldfile)
    if before and before != source_file.sha256:
        free_unreferenced([before])
    return source_file
