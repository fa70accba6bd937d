"""Run one backend call for the claimed rows of one source and store what it returns.

Files are written through Django storage under stable hashed names (``Cutout.file.save``); the row
is only updated while this worker still holds its lease, so a worker that lost its lease (it was
presumed dead) can never overwrite the row of the worker that took over.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from decimal import Decimal

from django.core.files.base import ContentFile
from django.db.models import F
from django.utils import timezone

from ..backends.base import BackendError, BackendResult, BaseBackend, UploadRef
from ..conf import bgcut_settings
from ..imaging.sanity import kept_fraction
from ..models import Cutout
from ..signals import cutout_failed
from .announce import announce
from .rows import Claim, Status, unique_names

logger = logging.getLogger("wagtail_bgcut")

MAX_REASON = 2000


def describe_error(exc: BaseException) -> str:
    """A reason safe to store and show: exception class, HTTP status, provider detail; no key."""
    if isinstance(exc, BackendError):
        text = str(exc)  # already "<Cause>: <detail>", written by the backend
    else:
        detail = getattr(exc, "detail", None) or str(exc) or ""
        status = getattr(exc, "status", None)
        head = type(exc).__name__ + (f" ({status})" if status else "")
        text = f"{head}: {str(detail).strip()}" if detail else head
    key = bgcut_settings.API_KEY
    if key and isinstance(key, str) and len(key) >= 4:
        text = text.replace(key, "[API key]")
    return text[:MAX_REASON]


def reusable_upload(source_hash: str) -> UploadRef | None:
    """The provider's still-valid handle on these bytes, if any row remembers one."""
    now = timezone.now()
    row = (
        Cutout.objects.filter(source_hash=source_hash)
        .exclude(unique_filename="")
        .filter(unique_filename_expires_at__gt=now)
        .order_by("-unique_filename_expires_at")
        .values_list("unique_filename", "unique_filename_expires_at")
        .first()
    )
    return UploadRef(*row) if row else None


def is_retryable(exc: BaseException) -> bool:
    """Whether trying again later may succeed: the package's errors say so (``retryable``);
    anything else (a storage or library error we cannot classify) is given the benefit of the
    doubt, bounded by ``MAX_ATTEMPTS``."""
    return bool(getattr(exc, "retryable", True))


def fail(claims: Sequence[Claim], reason: str, *, retryable: bool = True) -> None:
    """Record the failure on the rows this worker still holds and announce each one.

    A row that is not ``retryable`` waits for a manual retry instead of using up its automatic
    attempts on a cause that cannot go away (a corrupt file, a refused request).
    """
    for c in claims:
        updated = c.mine.update(
            status=Status.FAILED,
            error=reason,
            retryable=retryable,
            lease_expires_at=None,
            updated_at=timezone.now(),
        )
        if updated:
            c.cutout.status, c.cutout.error, c.cutout.retryable = Status.FAILED, reason, retryable
            announce(cutout_failed, cutout=c.cutout, reason=reason, retryable=retryable)


def _store(claim: Claim, variant_name: str, result: BackendResult) -> bool:
    """Save one output file and mark the row done; False when the output is missing or the lease
    was lost."""
    output = result.outputs.get(variant_name)
    if output is None:
        fail([claim], f"BackendError: the backend returned no output for {variant_name!r}.")
        return False
    data = output.read()
    cutout = claim.cutout
    ext = output.format if output.format in ("png", "jpg", "webp") else "png"
    field = cutout.file
    name = field.field.generate_filename(cutout, f"cutout.{ext}")
    storage = field.storage
    # Stable names: a leftover file of an earlier, interrupted run of this very row is replaced
    # rather than saved next to it under a random suffix.
    if storage.exists(name):
        storage.delete(name)
    saved = storage.save(name, ContentFile(data))
    upload = result.upload
    updated = claim.mine.update(
        status=Status.DONE,
        file=saved,
        width=output.width,
        height=output.height,
        format=ext,
        size=len(data),
        kept_fraction=kept_fraction(data),
        error="",
        retryable=True,
        # Added, not set: a redo of a finished cut-out is a second paid call.
        credits_charged=F("credits_charged") + Decimal(str(output.credits)),
        backend=cutout.backend,
        lease_expires_at=None,
        processed_at=timezone.now(),
        updated_at=timezone.now(),
        **(
            {
                "unique_filename": upload.unique_filename,
                "unique_filename_expires_at": upload.expires_at,
            }
            if upload
            else {}
        ),
    )
    if not updated:
        logger.warning("wagtail_bgcut: lost the lease on cut-out %s; result dropped", cutout.pk)
    return bool(updated)


def run_claims(
    source_hash: str, source_bytes: bytes, claims: Sequence[Claim], backend: BaseBackend
) -> list[int]:
    """ONE backend call for all claimed rows of one source; returns the ids now done."""
    if not claims:
        return []
    pairs = unique_names(claims)
    upload = reusable_upload(source_hash)
    try:
        result = backend.process(source_bytes, [v for _, v in pairs], upload=upload)
    except Exception as exc:
        reason = describe_error(exc)
        logger.warning(
            "wagtail_bgcut: %s failed for source %s: %s", backend.name, source_hash[:12], reason
        )
        fail(claims, reason, retryable=is_retryable(exc))
        return []
    done = []
    for claim, variant in pairs:
        try:
            if _store(claim, variant.variant_name, result):
                done.append(claim.cutout.pk)
        except Exception as exc:
            # Storage down or full: the row fails with the reason and can be retried.
            reason = describe_error(exc)
            logger.warning("wagtail_bgcut: storing cut-out %s failed: %s", claim.cutout.pk, reason)
            fail([claim], reason, retryable=is_retryable(exc))
    if result.upload:
        # Every row of these bytes learns the new handle, so the next preset skips the upload.
        Cutout.objects.filter(source_hash=source_hash).update(
            unique_filename=result.upload.unique_filename,
            unique_filename_expires_at=result.upload.expires_at,
        )
    return done
