"""The credit budget guard: a monthly cap for the site and one per user, checked before any spend.

Every paid call asks :func:`reserve` first. It sums this calendar month's :class:`CreditSpend`
rows (UTC), refuses with :class:`BudgetExceeded` (and sends ``budget_cap_reached``) when the call
would pass a cap, and otherwise writes the row before the call is made, so two calls in a row see
each other. The caller hands the row back with :func:`release` when the call certainly cost nothing
(refused before sending, a 4xx), or marks it :func:`uncertain` when it may have been charged.

Calls racing at the edge of a cap are serialised where the database can: the row is inserted
first, then (on PostgreSQL) a transaction-scoped advisory lock is taken, and only then is the month
summed, own row included. The second of two racing calls waits for the first to commit and sees its
row, so concurrent workers cannot overspend. SQLite needs no lock: the insert takes its single write
lock, which the other process waits for. Other databases (MySQL, Oracle) are not serialised: two
calls racing at the very edge may both pass, overspending by at most one call each.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from .conf import bgcut_settings
from .exceptions import BgcutError
from .models import CreditSpend
from .signals import budget_cap_reached

__all__ = [
    "BudgetExceeded",
    "BudgetStatus",
    "UserSpend",
    "check",
    "per_user_spend",
    "release",
    "reserve",
    "settle",
    "status",
    "uncertain",
]


class BudgetExceeded(BgcutError):
    """A paid call was refused by a credit cap before anything was spent.

    Not retryable: waiting does not help until the month turns or someone raises the cap.
    """

    retryable = False

    def __init__(self, cap: str, limit: float, spent: float, needed: float, who: str = ""):
        self.cap, self.limit, self.spent, self.needed, self.who = cap, limit, spent, needed, who
        values = {"spent": spent, "limit": limit, "needed": needed, "who": who}
        if cap == "user" and who:
            # Raised in a worker: the reason is stored on the row, which other editors see too.
            message = _(
                "The monthly BackgroundCut budget of %(who)s, who asked for this, is used up "
                "(%(spent)g of %(limit)g credits; this needs %(needed)g). Ask an administrator "
                "to raise it."
            )
        elif cap == "user":
            message = _(
                "Your monthly BackgroundCut budget is used up (%(spent)g of %(limit)g credits; "
                "this needs %(needed)g). Ask an administrator to raise it."
            )
        else:
            message = _(
                "This site's monthly BackgroundCut budget is used up (%(spent)g of %(limit)g "
                "credits; this needs %(needed)g). Ask an administrator to raise it."
            )
        super().__init__(message % values)

    def __reduce__(self):
        return (type(self), (self.cap, self.limit, self.spent, self.needed, self.who))


def month_start(now: datetime | None = None) -> datetime:
    """Midnight UTC on the first of the month of ``now`` (a cap's period)."""
    now = (now or timezone.now()).astimezone(UTC)
    return now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def spent_this_month(user_id: str | None = None) -> float:
    """Credits recorded since the 1st of this month (UTC); one user's when ``user_id`` is given."""
    rows = CreditSpend.objects.filter(created_at__gte=month_start())
    if user_id is not None:
        rows = rows.filter(user_id=user_id)
    return float(rows.aggregate(total=Sum("credits"))["total"] or 0.0)


def _user_key(user: object) -> str:
    """``CreditSpend.user_id`` for ``user``: a user object (anonymous: ""), or a user's pk as
    given by a worker that has only the row's ``requested_by_id``."""
    if user is None or user == "":
        return ""
    if isinstance(user, int | str):
        return str(user)
    if not getattr(user, "is_authenticated", False):
        return ""
    return str(user.pk)


def _limit(value: object) -> float | None:
    return None if value is None else float(value)


# One advisory lock key for the whole guard (the monthly cap spans every user): crc32 of a name,
# so it is stable across processes and unlikely to meet a site's own advisory locks.
LOCK_KEY = zlib.crc32(b"wagtail_bgcut.budget")


class _Refused(Exception):
    """Leaves the reservation's transaction, so the row inserted first is rolled back."""

    def __init__(self, error: BudgetExceeded):
        self.error = error


def _serialise() -> None:
    """Make concurrent reservations queue here until this transaction ends (PostgreSQL)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [LOCK_KEY])


def _refusal(
    credits: float, user_id: str, who: str, *, counted: bool = False
) -> BudgetExceeded | None:
    """The cap a call costing ``credits`` would pass, as the error to raise; None if none.

    ``counted``: the call's own row is already in the sums (:func:`reserve` inserts it first).
    """
    checks = [("monthly", _limit(bgcut_settings.BUDGET_MONTHLY_CREDITS), None)]
    if user_id:
        checks.append(("user", _limit(bgcut_settings.BUDGET_USER_MONTHLY_CREDITS), user_id))
    for cap, limit, who_id in checks:
        if limit is None:
            continue
        spent = spent_this_month(who_id) - (credits if counted else 0.0)
        if spent + credits > limit + 1e-9:
            return BudgetExceeded(cap, limit, spent, credits, who if cap == "user" else "")
    return None


def _announce(error: BudgetExceeded, user_id: str) -> None:
    budget_cap_reached.send(
        sender=CreditSpend,
        cap=error.cap,
        limit=error.limit,
        spent=error.spent,
        needed=error.needed,
        user_id=user_id,
    )


def _capped() -> bool:
    return (
        bgcut_settings.BUDGET_MONTHLY_CREDITS is not None
        or bgcut_settings.BUDGET_USER_MONTHLY_CREDITS is not None
    )


def check(credits: float, *, user: object = None) -> None:
    """Refuse now (``BudgetExceeded``) if a call costing ``credits`` would pass a cap.

    For a view that queues paid work: the editor hears at once, before anything is queued. It
    records nothing; the worker's :func:`reserve` still decides when the call is made.
    """
    if credits <= 0 or not _capped():
        return
    user_id = _user_key(user)
    error = _refusal(credits, user_id, "")
    if error is not None:
        _announce(error, user_id)
        raise error


def reserve(credits: float, *, kind: str, user: object = None, who: str = "") -> CreditSpend | None:
    """Check the caps for a call costing ``credits``; record it and return its row, or refuse.

    ``user`` is the user object of a request, or the pk of the user who asked for queued work (a
    worker's ``Cutout.requested_by_id``; ``who`` then names them in the refusal). Free calls (0
    credits) are neither checked nor recorded, and with no cap configured nothing is recorded
    either (no query per paid call for sites that do not use the guard; a cap set in the middle of
    a month counts from then on).
    """
    if credits <= 0 or not _capped():
        return None
    user_id = _user_key(user)
    try:
        with transaction.atomic():
            # Insert first, then lock, then sum (own row included): whoever waits here sees the
            # committed rows of everyone who went before (see the module docstring).
            spend = CreditSpend.objects.create(credits=credits, kind=kind, user_id=user_id)
            _serialise()
            error = _refusal(credits, user_id, who, counted=True)
            if error is not None:
                raise _Refused(error)
            return spend
    except _Refused as refused:
        error = refused.error
    # Sent after the rollback, so a receiver's own writes are kept.
    _announce(error, user_id)
    raise error


def release(spend: CreditSpend | None) -> None:
    """The call certainly cost nothing: forget its row."""
    if spend is not None and spend.pk is not None:
        CreditSpend.objects.filter(pk=spend.pk).delete()


def uncertain(spend: CreditSpend | None) -> None:
    """The call may have been charged without an answer: keep it counted, flagged."""
    if spend is not None and spend.pk is not None:
        CreditSpend.objects.filter(pk=spend.pk).update(uncertain=True)


def settle(spend: CreditSpend | None, error: BaseException) -> None:
    """After a failed paid call: keep the row if it may have been charged, else release it."""
    if getattr(error, "may_have_been_charged", False):
        uncertain(spend)
    else:
        release(spend)


@dataclass(frozen=True)
class UserSpend:
    """One user's credits this month: ``name`` is their username ("" once the user is deleted)."""

    user_id: str
    name: str
    spent: float
    limit: float | None

    @property
    def remaining(self) -> float | None:
        return None if self.limit is None else max(self.limit - self.spent, 0.0)


@dataclass(frozen=True)
class BudgetStatus:
    """What the admin status page shows; ``per_user``: who spent what this month, most first."""

    monthly_limit: float | None
    user_limit: float | None
    spent: float
    uncertain: float
    since: datetime
    per_user: tuple[UserSpend, ...] = ()

    @property
    def remaining(self) -> float | None:
        return None if self.monthly_limit is None else max(self.monthly_limit - self.spent, 0.0)


def per_user_spend() -> tuple[UserSpend, ...]:
    """This month's credits by user (rows with no user, background work, left out)."""
    rows = (
        CreditSpend.objects.filter(created_at__gte=month_start())
        .exclude(user_id="")
        .values("user_id")
        .annotate(total=Sum("credits"))
        .order_by("-total", "user_id")
    )
    totals = {row["user_id"]: float(row["total"] or 0.0) for row in rows}
    users = get_user_model()
    # user_id is str(pk); a pk that is not an integer (UUID) still compares as text here.
    names = {
        str(user.pk): user.get_username()
        for user in users.objects.filter(pk__in=[u for u in totals if _valid_pk(users, u)])
    }
    limit = _limit(bgcut_settings.BUDGET_USER_MONTHLY_CREDITS)
    return tuple(UserSpend(uid, names.get(uid, ""), spent, limit) for uid, spent in totals.items())


def _valid_pk(users: Any, value: str) -> bool:
    """Whether ``value`` can be a pk of the user model (a site may have swapped its pk type)."""
    try:
        users._meta.pk.to_python(value)
    except ValidationError:
        return False
    return True


def status() -> BudgetStatus:
    since = month_start()
    unsure = CreditSpend.objects.filter(created_at__gte=since, uncertain=True)
    return BudgetStatus(
        monthly_limit=_limit(bgcut_settings.BUDGET_MONTHLY_CREDITS),
        user_limit=_limit(bgcut_settings.BUDGET_USER_MONTHLY_CREDITS),
        spent=spent_this_month(),
        uncertain=float(unsure.aggregate(total=Sum("credits"))["total"] or 0.0),
        since=since,
        per_user=per_user_spend(),
    )
