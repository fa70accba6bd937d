"""Run one backend call for the claimed rows of one source and store what it returns.

Files are written through Django storage under stable hashed names (``Cutout.file.save``); the row
is only updated while this worker still holds its lease, so a worker that lost its lease (it was
presumed dead) can never overwrite the row of the worker that took over.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from ..backends.base import BackendError, BackendResult, BaseBackend, CallJournal, UploadRef
from ..conf import bgcut_settings
from ..imaging.sanity import kept_fraction
from ..models import Cutout
from ..signals import cutout_failed
from ..variants import Variant
from .announce import announce
from .rows import Claim, Status, keep_leases, unique_names

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


def may_have_been_charged(exc: BaseException) -> bool:
    """Whether the failed call may have been paid for (read with getattr: any exception)."""
    return bool(getattr(exc, "may_have_been_charged", False))


def next_attempt_at(attempts: int, exc: BaseException | None = None) -> datetime:
    """When attempt ``attempts + 1`` is due: ``RETRY_BACKOFF`` doubled per attempt used, with
    up to 20% jitter (so rows that failed together do not come back together), never sooner than
    the API's ``Retry-After``."""
    base = float(bgcut_settings.RETRY_BACKOFF) * 2 ** max(attempts - 1, 0)
    delay = base * (1 + random.random() * 0.2)  # jitter, not security
    retry_after = getattr(exc, "retry_after", None)
    if isinstance(retry_after, int | float):
        delay = max(delay, float(retry_after))
    return timezone.now() + timedelta(seconds=delay)


@dataclass
class Failure:
    """One failed attempt, described for the people who read ``Cutout.error``."""

    call: str
    cause: str
    retryable: bool = True
    charged: bool = False
    exc: BaseException | None = None

    def reason(self, cutout: Cutout, retry_at: datetime | None) -> str:
        head = f"{self.call} failed: {self.cause}" if self.call else self.cause
        if self.charged:
            money = _(
                "It may have been charged, so it is not retried automatically: check the credits "
                "used, then retry from the admin or with "
                "`manage.py bgcut_process --recover --include-charged`."
            )
            return f"{head} {money}"
        paid = _("Not charged.") if self.call in ("upload-image", "process-image") else ""
        if self.call == "download" and cutout.output_url:
            paid = _("Already paid; the result is downloaded again from its stored URL.")
        if retry_at is not None:
            when = _("Retried automatically after %(when)s (attempt %(next)d of %(max)d).") % {
                "when": retry_at.strftime("%Y-%m-%d %H:%M:%S UTC"),
                "next": cutout.attempts + 1,
                "max": bgcut_settings.MAX_ATTEMPTS,
            }
        elif not self.retryable:
            when = _(
                "Not retried: trying again cannot help until the cause is fixed (the file, the "
                "preset, the key or the credits); then retry from the admin or with "
                "`manage.py bgcut_process --recover --include-permanent`."
            )
        else:
            when = _(
                "Not retried automatically: all %(max)d attempts are used; retry from the admin "
                "or with `manage.py bgcut_process --recover --include-exhausted`."
            ) % {"max": bgcut_settings.MAX_ATTEMPTS}
        return " ".join(part for part in (head, paid, when) if part)[:MAX_REASON]


def refused_by_budget(cutout: Cutout) -> bool:
    """Whether the row's last attempt was refused by a credit cap (nothing was sent or spent):
    a person asking again, or another editor, may have the budget for it."""
    return cutout.status == Status.FAILED and cutout.error.startswith("BudgetExceeded")


def failure_from(exc: BaseException, call: str = "") -> Failure:
    charged = may_have_been_charged(exc)
    return Failure(
        call=call,
        cause=describe_error(exc),
        retryable=is_retryable(exc) and not charged,
        charged=charged,
        exc=exc,
    )


def fail(claims: Sequence[Claim], failure: Failure | str, *, retryable: bool = True) -> None:
    """Record the failure on the rows this worker still holds and announce each one.

    A row that is not ``retryable`` (or may have been charged) waits for a person instead of using
    up its automatic attempts; a retryable one gets ``next_attempt_at`` on the backoff schedule
    while it has attempts left. The upload handle and paid-for URLs stay on the row.
    """
    if isinstance(failure, str):
        failure = Failure(call="", cause=failure, retryable=retryable)
    for c in claims:
        attempts = c.cutout.attempts
        retry_at = None
        if failure.retryable and attempts < bgcut_settings.MAX_ATTEMPTS:
            retry_at = next_attempt_at(attempts, failure.exc)
        reason = failure.reason(c.cutout, retry_at)
        updated = c.update(
            status=Status.FAILED,
            error=reason,
            retryable=failure.retryable,
            may_have_been_charged=failure.charged,
            failed_call=failure.call[:40],
            next_attempt_at=retry_at,
            lease_expires_at=None,
            updated_at=timezone.now(),
        )
        if updated:
            c.cutout.status, c.cutout.error = Status.FAILED, reason
            c.cutout.retryable, c.cutout.next_attempt_at = failure.retryable, retry_at
            c.cutout.may_have_been_charged = failure.charged
            announce(cutout_failed, cutout=c.cutout, reason=reason, retryable=failure.retryable)


def _store(claim: Claim, variant_name: str, result: BackendResult) -> bool:
    """Save one output file and mark the row done; False when the output is missing or the lease
    was lost."""
    output = result.outputs.get(variant_name)
    if output is None:
        fail(
            [claim],
            Failure("", f"BackendError: the backend returned no output for {variant_name!r}."),
        )
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
    updated = claim.update(
        status=Status.DONE,
        file=saved,
        width=output.width,
        height=output.height,
        format=ext,
        size=len(data),
        kept_fraction=kept_fraction(data),
        error="",
        retryable=True,
        may_have_been_charged=False,
        failed_call="",
        next_attempt_at=None,
        output_url="",
        output_url_expires_at=None,
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


def _journal(
    source_hash: str, pairs: Sequence[tuple[Claim, Variant]], upload: UploadRef | None
) -> CallJournal:
    """A journal holding the rows' still-valid paid-for URLs, which writes each step back."""
    now = timezone.now()
    urls = {
        variant.variant_name: claim.cutout.output_url
        for claim, variant in pairs
        if claim.cutout.output_url
        and claim.cutout.output_url_expires_at is not None
        and claim.cutout.output_url_expires_at > now
    }
    expires = min(
        (c.cutout.output_url_expires_at for c, v in pairs if v.variant_name in urls),
        default=None,
    )
    by_name = {variant.variant_name: claim for claim, variant in pairs}
    requester_id, requester_name = requester(pairs[0][0].cutout) if pairs else ("", "")

    def write_back(journal: CallJournal) -> None:
        if journal.upload is not None:
            # Every row of these bytes learns the handle, so no retry or preset uploads again.
            Cutout.objects.filter(source_hash=source_hash).update(
                unique_filename=journal.upload.unique_filename,
                unique_filename_expires_at=journal.upload.expires_at,
            )
        for name, url in journal.output_urls.items():
            claim = by_name.get(name)
            if claim is not None and claim.cutout.output_url != url:
                claim.update(output_url=url, output_url_expires_at=journal.output_urls_expire_at)
                claim.cutout.output_url = url
                claim.cutout.output_url_expires_at = journal.output_urls_expire_at

    return CallJournal(
        upload=upload,
        output_urls=urls,
        output_urls_expire_at=expires,
        requested_by=requester_id,
        requested_by_name=requester_name,
        on_change=write_back,
    )


def requester(cutout: Cutout) -> tuple[str, str]:
    """``(pk, username)`` of the user who asked for this row's work, or ``("", "")``.

    The processing layer gives one backend call only rows of one requester, so the first row's
    answer holds for the whole call.
    """
    if cutout.requested_by_id is None:
        return "", ""
    user = get_user_model().objects.filter(pk=cutout.requested_by_id).first()
    if user is None:  # deleted since it asked: SET_NULL is on its way; charge the site only
        return "", ""
    return str(user.pk), user.get_username()


def run_claims(
    source_hash: str, source_bytes: bytes, claims: Sequence[Claim], backend: BaseBackend
) -> list[int]:
    """ONE backend call for all claimed rows of one source; returns the ids now done.

    The leases are renewed while the call runs (:func:`keep_leases`), so a slow but live job
    never loses its rows to another worker.
    """
    if not claims:
        return []
    pairs = unique_names(claims)
    upload = reusable_upload(source_hash)
    journal = _journal(source_hash, pairs, upload) if backend.keeps_journal else None
    extra = {"journal": journal} if journal is not None else {}
    with keep_leases(claims):
        try:
            result = backend.process(source_bytes, [v for _, v in pairs], upload=upload, **extra)
        except Exception as exc:
            failure = failure_from(exc, journal.call if journal is not None else "")
            logger.warning(
                "wagtail_bgcut: %s failed for source %s: %s",
                backend.name,
                source_hash[:12],
                failure.cause,
            )
            fail(claims, failure)
            return []
        done = []
        for claim, variant in pairs:
            try:
                if _store(claim, variant.variant_name, result):
                    done.append(claim.cutout.pk)
            except Exception as exc:
                # Storage down or full: the row fails with the reason and can be retried.
                failure = failure_from(exc, "storing the file")
                logger.warning(
                    "wagtail_bgcut: storing cut-out %s failed: %s", claim.cutout.pk, failure.cause
                )
                fail([claim], failure)
    if result.upload:
        # Every row of these bytes learns the new handle, so the next preset skips the upload.
        Cutout.objects.filter(source_hash=source_hash).update(
            unique_filename=result.upload.unique_filename,
            unique_filename_expires_at=result.upload.expires_at,
        )
    return done
