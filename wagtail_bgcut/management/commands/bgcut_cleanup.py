"""``manage.py bgcut_cleanup``: delete cut-outs whose source no longer exists anywhere.

A source is gone when its file is missing from its storage and no image or cut-out field stores
its name. Cut-outs are kept while any other file has the same bytes. Original files are never
touched: the only files deleted are cut-out files in WAGTAIL_BGCUT['STORAGE'] under UPLOAD_TO.
"""

from __future__ import annotations

from django.conf import settings
from django.core.files.storage import storages
from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from ...conf import bgcut_settings
from ...models import Cutout, SourceFile, get_cutout_storage
from ...pipeline import free_unreferenced
from ...source_fields import name_in_use


def _source_gone(row: SourceFile) -> bool:
    if row.storage_key not in getattr(settings, "STORAGES", {}):
        return False  # a storage we cannot reach by alias: never assume the file is gone
    try:
        exists = storages[row.storage_key].exists(row.name)
    except Exception:
        return False
    return not exists and not name_in_use(row.name)


def _walk(storage, folder: str) -> list[str]:
    out: list[str] = []
    try:
        dirs, files = storage.listdir(folder)
    except (FileNotFoundError, NotImplementedError, OSError):
        return out
    out.extend(f"{folder}/{name}" for name in files)
    for d in dirs:
        out.extend(_walk(storage, f"{folder}/{d}"))
    return out


class Command(BaseCommand):
    help = _("Delete cut-out files and rows whose source image no longer exists anywhere.")

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run", action="store_true", help=_("List what would be deleted; delete nothing.")
        )
        parser.add_argument(
            "--stray-files",
            action="store_true",
            help=_(
                "Also delete files under UPLOAD_TO that no cut-out row refers to. Do not use it "
                "when several databases share one cut-out storage."
            ),
        )

    def handle(self, *args, dry_run: bool = False, stray_files: bool = False, **options):
        verb = _("Would delete") if dry_run else _("Deleted")
        gone = [row for row in SourceFile.objects.all() if _source_gone(row)]
        hashes = {row.sha256 for row in gone}
        for row in gone:
            self.stdout.write(_("Source gone: %(name)s") % {"name": row.name})
        if not dry_run:
            SourceFile.objects.filter(pk__in=[row.pk for row in gone]).delete()
        # Cut-outs with no source row at all (their source was forgotten earlier) go too.
        known = set(SourceFile.objects.values_list("sha256", flat=True).distinct())
        orphan_hashes = set(Cutout.objects.values_list("source_hash", flat=True).distinct())
        orphan_hashes -= known
        if dry_run:
            orphan_hashes |= hashes - {
                h
                for h in SourceFile.objects.filter(sha256__in=hashes)
                .exclude(pk__in=[row.pk for row in gone])
                .values_list("sha256", flat=True)
            }
            cutouts = list(Cutout.objects.filter(source_hash__in=orphan_hashes))
        else:
            cutouts = free_unreferenced(orphan_hashes | hashes)
        for cutout in cutouts:
            self.stdout.write(f"{verb}: {cutout.file.name or cutout}")
        stray = self._stray_files(cutouts) if stray_files else []
        for name in stray:
            if not dry_run:
                get_cutout_storage().delete(name)
            self.stdout.write(f"{verb}: {name}")
        self.stdout.write(
            _("%(verb)s %(cutouts)d cut-out(s) and %(files)d stray file(s).")
            % {"verb": verb, "cutouts": len(cutouts), "files": len(stray)}
        )

    def _stray_files(self, cutouts) -> list[str]:
        """Files in our folder that no row refers to (left by interrupted runs or deleted rows)."""
        storage = get_cutout_storage()
        referenced = set(Cutout.objects.exclude(file="").values_list("file", flat=True))
        deleted = {c.file.name for c in cutouts}
        stray = [
            name
            for name in _walk(storage, bgcut_settings.UPLOAD_TO.strip("/"))
            if name not in referenced and name not in deleted
        ]
        return stray
