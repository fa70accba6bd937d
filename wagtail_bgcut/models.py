"""The cut-out cache: content-addressed rows, one per (source bytes, output options).

Why content-addressed: the API charges per call, so the same bytes with the same options must be
processed once, whichever image, model or worker asks. A database constraint (not application code)
guarantees one row per key, so concurrent workers race on an INSERT and only one wins.
"""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.core.files.storage import storages
from django.core.signals import setting_changed
from django.db import models
from django.dispatch import receiver
from django.utils.functional import LazyObject, empty
from django.utils.translation import gettext_lazy as _

from .conf import bgcut_settings

# Keyed by imaging.sanity's verdicts (not imported here: the imaging package loads OpenCV).
SUSPICIOUS_MESSAGES = {
    "empty": _("Nothing was kept: the cut-out is empty. Check it before using it."),
    "tiny": _("Almost nothing was kept: the subject may be missing. Check it before using it."),
    "full": _("Everything was kept: the background may not have been removed. Check it."),
}


class CutoutStorage(LazyObject):
    """The storage named by WAGTAIL_BGCUT['STORAGE'], looked up when first used.

    Django calls a field's storage callable once, at import; this proxy (like ``default_storage``)
    resolves the alias lazily and again after the settings change, so ``override_settings`` and
    late configuration both work.
    """

    def _setup(self) -> None:
        self._wrapped = storages[bgcut_settings.STORAGE]


cutout_storage = CutoutStorage()


@receiver(setting_changed)
def _reset_cutout_storage(*, setting: str, **kwargs) -> None:
    if setting in ("WAGTAIL_BGCUT", "STORAGES"):
        cutout_storage._wrapped = empty


def get_cutout_storage():
    """The cut-out storage (a lazy proxy). Module-level so migrations can refer to it."""
    return cutout_storage


def cutout_upload_to(instance: Cutout, filename: str) -> str:
    """Stable, hashed names: ``bgcut/ab/abcdef.../<options>.<ext>``; one key, one path."""
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else "png"
    folder = bgcut_settings.UPLOAD_TO.strip("/")
    h = instance.source_hash
    return f"{folder}/{h[:2]}/{h}/{instance.options_key}.{ext}"


def source_name_key(storage_key: str, name: str) -> str:
    """Fixed-length key for (storage, file name): names can be longer than an index allows."""
    return hashlib.sha256(f"{storage_key}\0{name}".encode()).hexdigest()


class SourceFile(models.Model):
    """Remembers the hash of an original file's bytes under its stored name.

    Renders look cut-outs up by name through this table, so a page never reads an original file
    to hash it. Rows are written by the pipeline when it first reads a file; a changed file has a
    new name (Django never overwrites), so a row never goes stale.
    """

    name_key = models.CharField(max_length=64, unique=True)
    storage_key = models.CharField(max_length=200)
    name = models.CharField(max_length=1024)
    sha256 = models.CharField(max_length=64, db_index=True)
    size = models.BigIntegerField()
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("source file")
        verbose_name_plural = _("source files")

    def __str__(self) -> str:
        return f"{self.name} ({self.sha256[:12]})"


class Cutout(models.Model):
    """One cut-out of one source (by bytes hash) with one set of output options."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        PROCESSING = "processing", _("Processing")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    source_hash = models.CharField(max_length=64)
    # Hash of the variant options (Variant.options_key) and the engine that made it, so switching
    # from the local engine to the API produces new cut-outs rather than reusing local ones.
    options_key = models.CharField(max_length=64)
    preset = models.CharField(max_length=100, help_text=_("Preset name when first requested."))
    options = models.JSONField(default=dict)
    backend = models.CharField(max_length=100)

    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    file = models.FileField(
        storage=get_cutout_storage, upload_to=cutout_upload_to, max_length=255, blank=True
    )
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    format = models.CharField(max_length=10, blank=True)
    size = models.BigIntegerField(null=True, blank=True)
    # Share of opaque pixels, measured when stored (imaging.sanity): flags empty or full results.
    kept_fraction = models.FloatField(null=True, blank=True)

    error = models.TextField(blank=True)
    # Whether the last failure may go away by itself (network, rate limit): only then do saves and
    # workers try again automatically, up to MAX_ATTEMPTS. A manual retry ignores it.
    retryable = models.BooleanField(default=True)
    attempts = models.PositiveIntegerField(default=0)
    credits_charged = models.DecimalField(max_digits=10, decimal_places=2, default=0)

    # BackgroundCut's handle on the uploaded source, reused while valid so a new preset for the same
    # bytes costs a process call but no second upload.
    unique_filename = models.CharField(max_length=200, blank=True)
    unique_filename_expires_at = models.DateTimeField(null=True, blank=True)

    # Paid-for result URL of this row's variant, kept (before any download) until it expires: a
    # failed download is retried from it, never by processing (and paying) again.
    output_url = models.TextField(blank=True)
    output_url_expires_at = models.DateTimeField(null=True, blank=True)
    # The last failure: which call failed, whether it may have been charged (then no automatic
    # retry: a person decides), and when the next automatic attempt is due (None: none is).
    failed_call = models.CharField(max_length=40, blank=True)
    may_have_been_charged = models.BooleanField(default=False)
    next_attempt_at = models.DateTimeField(null=True, blank=True)

    # Who asked for the paid work now queued or last done on this row (an editor's Remove
    # background, bulk action, redo or retry): the worker charges their BUDGET_USER_MONTHLY_CREDITS
    # cap. Null for work asked by code (AUTO_PROCESS saves, renders, commands): the site cap only.
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("requested by"),
    )

    # A worker holds the row while processing; an expired lease means the worker died and the row
    # may be taken again, so nothing stays "processing" forever.
    lease_expires_at = models.DateTimeField(null=True, blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("cut-out")
        verbose_name_plural = _("cut-outs")
        constraints = [
            models.UniqueConstraint(
                fields=["source_hash", "options_key"], name="wagtail_bgcut_one_cutout_per_key"
            )
        ]
        indexes = [models.Index(fields=["source_hash"], name="wagtail_bgcut_source_idx")]

    def __str__(self) -> str:
        return f"{self.preset} of {self.source_hash[:12]} ({self.status})"

    @property
    def ready(self) -> bool:
        return self.status == self.Status.DONE and bool(self.file)

    @property
    def suspicious(self) -> str:
        """``"empty"``, ``"tiny"``, ``"full"`` for an implausible finished result, else ``""``."""
        # Imported here, not at module top: the imaging package loads OpenCV and numpy, which
        # loading the models (every process, every management command) should not pay for.
        from .imaging.sanity import verdict

        return verdict(self.kept_fraction) if self.ready else ""

    @property
    def suspicious_message(self) -> str:
        return str(SUSPICIOUS_MESSAGES.get(self.suspicious, ""))


class CreditSpend(models.Model):
    """One paid call, written BEFORE the call is made, so the budget guard counts it at once.

    ``user_id`` is who spent it (a direct upload, an editor), or null for background work. A call
    that certainly cost nothing (refused before sending, a 4xx) deletes its row again; one that
    may have been charged keeps it (``uncertain``), since an over-count is the safe side of a cap.
    """

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    credits = models.FloatField()
    kind = models.CharField(max_length=40)
    user_id = models.CharField(max_length=150, blank=True, default="", db_index=True)
    uncertain = models.BooleanField(default=False)

    class Meta:
        verbose_name = _("credit spend")
        verbose_name_plural = _("credit spends")

    def __str__(self) -> str:
        return f"{self.credits:g} credits for {self.kind}"
