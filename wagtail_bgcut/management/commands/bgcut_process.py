"""``manage.py bgcut_process``: backfill cut-outs for existing images, or recover stuck ones.

``--recover`` is the one command that brings back everything the workers left: rows stuck in
``processing`` after their lease expired, rows still ``pending``, and rows that failed for a
transient reason (now, without waiting for their backoff). ``--include-exhausted``,
``--include-permanent`` and ``--include-charged`` add the rows that wait for a person: out of
automatic attempts, failed for a cause that needed fixing, or possibly charged already.
``--failed`` (older spelling) is ``--recover --include-exhausted --include-permanent``.

It plans first (which cut-outs are missing, de-duplicated by bytes), prints what that will cost
in credits, asks before spending more than ``CONFIRM_CREDITS_ABOVE`` (unless ``--yes`` or
``--noinput``), then works through the sources in this process with a progress line per source.
``--dry-run`` stops after the estimate: it reads no file and spends nothing. ``--force`` makes
finished cut-outs again too (a redo, each a new paid call).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from wagtail.images import get_image_model
from wagtail.models import Collection

from ...backends.base import get_backend
from ...conf import bgcut_settings
from ...fields import registered_fields
from ...models import Cutout
from ...pipeline import needs_work, process_now, retry
from ...presets import cutout_options_key, get_preset
from ...source_hashes import hash_source, lookup_source_hashes, name_key, source_fieldfile
from ...tasks import request_redo
from ...variants import Variant

BAR_WIDTH = 20


def recoverable_rows(options) -> Q:
    """The rows ``--recover`` takes, given the ``--include-*`` options."""
    Status = Cutout.Status
    now = timezone.now()
    stuck = Q(status=Status.PROCESSING) & (
        Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lt=now)
    )
    transient = Q(status=Status.FAILED, retryable=True, may_have_been_charged=False)
    if not options["include_exhausted"]:
        transient &= Q(attempts__lt=bgcut_settings.MAX_ATTEMPTS)
    q = Q(status=Status.PENDING) | stuck | transient
    if options["include_permanent"]:
        q |= Q(status=Status.FAILED, retryable=False, may_have_been_charged=False)
    if options["include_charged"]:
        q |= Q(status=Status.FAILED, may_have_been_charged=True)
    return q


@dataclass
class Job:
    """One source and the presets it is missing."""

    label: str
    source: object
    presets: list[str]
    variants: list = field(default_factory=list)


class Command(BaseCommand):
    help = _("Make missing cut-outs for existing images (backfill), or retry failed ones.")

    def add_arguments(self, parser):
        parser.add_argument(
            "--preset",
            action="append",
            dest="presets",
            default=[],
            help=_("Preset to make (repeatable). Default: AUTO_PROCESS."),
        )
        parser.add_argument(
            "--collection",
            help=_("Only images in this Wagtail collection (id or name)."),
        )
        parser.add_argument(
            "--recover",
            action="store_true",
            help=_(
                "Instead of backfilling, take every stuck (lease expired), pending or "
                "transiently failed cut-out now."
            ),
        )
        parser.add_argument(
            "--include-exhausted",
            action="store_true",
            help=_("With --recover: also rows that used up MAX_ATTEMPTS."),
        )
        parser.add_argument(
            "--include-permanent",
            action="store_true",
            help=_("With --recover: also rows that failed for a permanent reason (fixed since)."),
        )
        parser.add_argument(
            "--include-charged",
            action="store_true",
            help=_(
                "With --recover: also rows whose failed call may have been charged (you checked "
                "the credits and accept paying again)."
            ),
        )
        parser.add_argument(
            "--failed",
            action="store_true",
            help=_("Same as --recover --include-exhausted --include-permanent."),
        )
        parser.add_argument(
            "--force",
            action="store_true",
            help=_("Make finished cut-outs again too (each is a new paid call)."),
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help=_("Print the plan and the credit estimate; process nothing."),
        )
        parser.add_argument(
            "--yes", action="store_true", help=_("Do not ask before spending credits.")
        )
        parser.add_argument(
            "--noinput",
            "--no-input",
            action="store_false",
            dest="interactive",
            help=_("Never prompt (same as --yes)."),
        )

    # -- entry point -----------------------------------------------------------------------------

    def handle(self, *args, **options):
        self.backend = get_backend()
        self.force, self.redo_ids = options["force"], []
        presets = options["presets"]
        for name in presets:
            get_preset(name)  # UnknownPreset is a clear CommandError-like configuration error
        if options["failed"]:
            options.update(recover=True, include_exhausted=True, include_permanent=True)
        if options["recover"]:
            jobs = self._plan_recover(presets, options["collection"], options)
        else:
            presets = presets or list(bgcut_settings.AUTO_PROCESS or [])
            if not presets:
                raise CommandError(
                    _("No presets: pass --preset NAME or set WAGTAIL_BGCUT['AUTO_PROCESS'].")
                )
            jobs = self._plan_backfill(presets, options["collection"], options["dry_run"])
        credits = sum(self.backend.estimate_credits(job.variants) for job in jobs)
        count = sum(len(job.variants) for job in jobs)
        self.stdout.write(
            _(
                "%(count)d cut-out(s) to make for %(sources)d source(s) with the %(backend)s "
                "backend: estimated %(credits)s credit(s)."
            )
            % {
                "count": count,
                "sources": len(jobs),
                "backend": self.backend.name,
                "credits": f"{credits:g}",
            }
        )
        if options["dry_run"]:
            for job in jobs:
                self.stdout.write(f"  {job.label}: {', '.join(job.presets)}")
            self.stdout.write(_("Dry run: nothing was processed."))
            return
        if not jobs:
            return
        self._confirm(credits, options)
        request_redo(self.redo_ids, enqueue=False)  # --force: back to pending, after confirming
        if options["recover"]:
            self._run_retry(jobs)
        else:
            self._run(jobs)

    def _confirm(self, credits: float, options) -> None:
        limit = bgcut_settings.CONFIRM_CREDITS_ABOVE
        if limit is None or credits <= limit or options["yes"] or not options["interactive"]:
            return
        answer = input(
            _("This may spend %(credits)s credits (more than %(limit)s). Type 'yes' to go on: ")
            % {"credits": f"{credits:g}", "limit": limit}
        )
        if answer.strip().lower() not in ("yes", "y"):
            raise CommandError(_("Cancelled; nothing was processed."))

    # -- planning --------------------------------------------------------------------------------

    def _images(self, collection: str | None):
        images = get_image_model().objects.all().order_by("pk")
        if collection:
            try:
                coll = (
                    Collection.objects.get(pk=int(collection))
                    if collection.isdigit()
                    else Collection.objects.get(name=collection)
                )
            except Collection.DoesNotExist:
                raise CommandError(_("No collection %(c)r.") % {"c": collection})
            except Collection.MultipleObjectsReturned:
                raise CommandError(
                    _("Several collections are named %(c)r; pass its id.") % {"c": collection}
                )
            images = images.filter(collection__in=coll.get_descendants(inclusive=True))
        return images

    def _sources(self, presets: list[str], collection: str | None) -> Iterable[tuple]:
        for image in self._images(collection):
            yield f"image {image.pk} {image.title!r}", image, presets
        if collection:
            return
        for fld in registered_fields():
            source = fld.model._meta.get_field(fld.source)
            rows = fld.model._default_manager.exclude(**{source.attname: ""}).order_by("pk")
            for obj in rows:
                label = f"{obj._meta.label} {obj.pk} {fld.source}"
                yield label, getattr(obj, fld.source), [fld.preset]

    def _plan_backfill(self, presets: list[str], collection, dry_run: bool) -> list[Job]:
        sources = [
            (label, obj, names)
            for label, obj, names in self._sources(presets, collection)
            if source_fieldfile(obj)
        ]
        hashes = lookup_source_hashes(source_fieldfile(obj) for _, obj, _ in sources)
        jobs: list[Job] = []
        seen: set[tuple[str, str]] = set()
        for label, obj, names in sources:
            fieldfile = source_fieldfile(obj)
            digest = hashes.get(name_key(fieldfile))
            if digest is None and not dry_run:
                try:
                    digest = hash_source(fieldfile).sha256
                except Exception as exc:
                    self.stderr.write(f"{label}: {type(exc).__name__}: {exc}")
                    continue
            missing, variants = [], []
            for name in names:
                variant = get_preset(name)
                key = cutout_options_key(variant, self.backend)
                if digest is not None:
                    if (digest, key) in seen:
                        continue
                    seen.add((digest, key))
                    row = Cutout.objects.filter(source_hash=digest, options_key=key).first()
                    if row is not None and self.force and row.status == Cutout.Status.DONE:
                        self.redo_ids.append(row.pk)
                    elif row is not None and not needs_work(row):
                        continue
                missing.append(name)
                variants.append(variant)
            if missing:
                jobs.append(Job(label, obj, missing, variants))
        return jobs

    def _plan_recover(self, presets: list[str], collection, options) -> list[Job]:
        rows = Cutout.objects.filter(recoverable_rows(options)).order_by("pk")
        if presets:
            keys = [cutout_options_key(get_preset(n), self.backend) for n in presets]
            rows = rows.filter(options_key__in=keys)
        if collection:
            wanted = lookup_source_hashes(i.file for i in self._images(collection))
            rows = rows.filter(source_hash__in=set(wanted.values()))
        groups: dict[str, Job] = {}
        for row in rows:
            job = groups.setdefault(
                row.source_hash, Job(f"source {row.source_hash[:12]}", None, [])
            )
            job.presets.append(row.preset)
            job.variants.append(Variant.from_dict({**row.options, "variant_name": row.preset}))
            job.source = [*(job.source or []), row.pk]
        return list(groups.values())

    # -- running ---------------------------------------------------------------------------------

    def _report(self, index: int, total: int, label: str, rows) -> tuple[int, int]:
        done = sum(1 for r in rows if r.ready)
        failed = [r for r in rows if r.status == Cutout.Status.FAILED]
        state = _("done") if not failed and done == len(rows) else _("incomplete")
        filled = round(BAR_WIDTH * index / total) if total else BAR_WIDTH
        bar = "#" * filled + "-" * (BAR_WIDTH - filled)
        self.stdout.write(f"{bar} [{index}/{total}] {label}: {done}/{len(rows)} {state}")
        for row in failed:
            self.stdout.write(f"    {row.preset}: {row.error}")
        return done, len(failed)

    def _run(self, jobs: list[Job]) -> None:
        made = errors = 0
        for index, job in enumerate(jobs, 1):
            try:
                rows = process_now(job.source, job.presets)
            except Exception as exc:
                self.stderr.write(f"[{index}/{len(jobs)}] {job.label}: {type(exc).__name__}: {exc}")
                errors += len(job.presets)
                continue
            done, failed = self._report(index, len(jobs), job.label, rows)
            made += done
            errors += failed
        self._summary(made, errors)

    def _run_retry(self, jobs: list[Job]) -> None:
        made = errors = 0
        for index, job in enumerate(jobs, 1):
            rows = retry(job.source)
            done, failed = self._report(index, len(jobs), job.label, rows)
            made += done
            errors += failed
        self._summary(made, errors)

    def _summary(self, made: int, errors: int) -> None:
        self.stdout.write(
            _("Finished: %(made)d cut-out(s) ready, %(errors)d failed.")
            % {"made": made, "errors": errors}
        )
        if errors:
            self.stdout.write(
                _(
                    "Each failure above says whether it is retried by itself. Take them now with: "
                    "manage.py bgcut_process --recover (add --include-exhausted, "
                    "--include-permanent or --include-charged for the rows waiting for you)"
                )
            )
