"""Cut-out rows: created race-safely under the unique constraint, claimed with an expiring lease.

The database does the arbitration: two workers may both try to INSERT the same (source, options)
row (one wins, the other re-reads it), and a claim is a single conditional UPDATE, so of two workers
claiming one row exactly one sees "1 row updated".
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from ..backends.base import BaseBackend
from ..conf import bgcut_settings
from ..models import Cutout
from ..presets import cutout_options_key, get_preset
from ..variants import Variant

Status = Cutout.Status

logger = logging.getLogger("wagtail_bgcut")


def ensure_cutouts(
    source_hash: str, preset_names: Sequence[str], backend: BaseBackend
) -> list[Cutout]:
    """The rows for these presets of these bytes, created (pending) where missing.

    Returns one row per preset name, in order (presets with identical options share a row).
    """
    wanted: dict[str, tuple[str, Variant]] = {}
    order: list[str] = []
    for name in preset_names:
        variant = get_preset(name)
        key = cutout_options_key(variant, backend)
        wanted.setdefault(key, (name, variant))
        order.append(key)
    if not wanted:
        return []
    rows = {
        c.options_key: c
        for c in Cutout.objects.filter(source_hash=source_hash, options_key__in=list(wanted))
    }
    for key, (name, variant) in wanted.items():
        if key in rows:
            continue
        try:
            with transaction.atomic():
                rows[key] = Cutout.objects.create(
                    source_hash=source_hash,
                    options_key=key,
                    preset=name,
                    options=variant.to_api(),
                    backend=backend.name,
                )
        except IntegrityError:
            # Another request or worker inserted it between our SELECT and INSERT.
            rows[key] = Cutout.objects.get(source_hash=source_hash, options_key=key)
    return [rows[key] for key in order]


def needs_work(cutout: Cutout, *, now: datetime | None = None) -> bool:
    """Whether a worker should take this row now (without forcing a manual retry)."""
    now = now or timezone.now()
    if cutout.status == Status.PENDING:
        return True
    if cutout.status == Status.FAILED:
        return (
            cutout.retryable
            and not cutout.may_have_been_charged
            and cutout.attempts < bgcut_settings.MAX_ATTEMPTS
            and (cutout.next_attempt_at is None or cutout.next_attempt_at <= now)
        )
    if cutout.status == Status.PROCESSING:
        return cutout.lease_expires_at is None or cutout.lease_expires_at < now
    return False


def _claimable(now: datetime, *, force: bool) -> Q:
    q = Q(status=Status.PENDING) | Q(status=Status.PROCESSING, lease_expires_at__lt=now)
    q |= Q(status=Status.PROCESSING, lease_expires_at__isnull=True)
    if force:
        q |= Q(status=Status.FAILED)
    else:
        due = Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
        q |= (
            Q(
                status=Status.FAILED,
                retryable=True,
                may_have_been_charged=False,
                attempts__lt=bgcut_settings.MAX_ATTEMPTS,
            )
            & due
        )
    return q


@dataclass
class Claim:
    """A row this worker holds until ``lease``; writes back only while the lease is still ours.

    The lease may be renewed from another thread (:func:`keep_leases`), so every write goes
    through :meth:`update`, which holds the claim's lock between reading the lease and writing.
    """

    cutout: Cutout
    lease: datetime
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)
    released: bool = False  # the row was finished (done or failed): nothing left to renew

    @property
    def mine(self):
        """Filter matching the row only while this claim still holds it."""
        return Cutout.objects.filter(
            pk=self.cutout.pk, status=Status.PROCESSING, lease_expires_at=self.lease
        )

    def update(self, **values) -> int:
        """Write to the row if this claim still holds it; the number of rows written (0 or 1)."""
        with self._lock:
            updated = self.mine.update(**values)
            if updated and values.get("status", Status.PROCESSING) != Status.PROCESSING:
                self.released = True
            return updated

    def renew(self) -> bool:
        """Push the lease ``LEASE_SECONDS`` into the future; False when it was lost already."""
        with self._lock:
            if self.released:
                return True
            lease = timezone.now() + timedelta(seconds=bgcut_settings.LEASE_SECONDS)
            if lease <= self.lease:
                return True
            if self.mine.update(lease_expires_at=lease):
                self.lease = lease
                return True
            return False


@contextlib.contextmanager
def keep_leases(claims: Sequence[Claim]) -> Iterator[None]:
    """Renew these claims' leases every third of ``LEASE_SECONDS`` while the block runs.

    A live job never loses its rows however long its calls take (retries, rate-limit waits),
    while a killed worker stops renewing, so its rows are free again one lease after its death.
    """
    if not claims or connection.in_atomic_block:
        # Inside a transaction (a render under ATOMIC_REQUESTS) the claim is not visible to any
        # other worker before the commit, and the rows are locked by it: renewing from another
        # connection would wait for this very transaction.
        yield
        return
    stop = threading.Event()
    interval = max(float(bgcut_settings.LEASE_SECONDS) / 3, 0.2)

    def renew() -> None:
        try:
            while not stop.wait(interval):
                for c in claims:
                    try:
                        if not c.renew():
                            logger.warning("wagtail_bgcut: lease on cut-out %s lost", c.cutout.pk)
                    except Exception:
                        logger.exception("wagtail_bgcut: renewing the lease failed")
        finally:
            connection.close()  # this thread's own database connection

    thread = threading.Thread(target=renew, name="bgcut-lease", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def claim(cutouts: Iterable[Cutout], *, force: bool = False) -> list[Claim]:
    """Atomically take the rows that need work; rows another worker holds are skipped.

    ``force`` also takes failed rows that used up their automatic attempts or failed for a
    permanent reason (a manual retry).
    Each claim counts as an attempt, so a worker that dies mid-job still used one.
    """
    claims = []
    for cutout in cutouts:
        now = timezone.now()
        # The lease's expiry doubles as this claim's token: a later claim (possible only after it
        # expired) always writes a later value, so stale workers' writes match nothing.
        lease = now + timedelta(seconds=bgcut_settings.LEASE_SECONDS)
        updated = (
            Cutout.objects.filter(pk=cutout.pk)
            .filter(_claimable(now, force=force))
            .update(
                status=Status.PROCESSING,
                lease_expires_at=lease,
                attempts=F("attempts") + 1,
                updated_at=now,
            )
        )
        if updated:
            cutout.refresh_from_db()
            claims.append(Claim(cutout, cutout.lease_expires_at or lease))
    return claims


def unique_names(claims: Sequence[Claim]) -> list[tuple[Claim, Variant]]:
    """One API variant per claimed row; names are the preset names, made unique if they clash."""
    out = []
    seen: set[str] = set()
    for c in claims:
        base = c.cutout.preset or "cutout"
        name = base
        if name in seen:
            name = f"{base}-{hashlib.sha256(c.cutout.options_key.encode()).hexdigest()[:8]}"
        seen.add(name)
        options = {**c.cutout.options, "variant_name": name}
        out.append((c, Variant.from_dict(options)))
    return out
