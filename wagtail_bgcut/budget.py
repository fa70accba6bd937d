"""The credit budget guard: a monthly cap for the site and one per user, checked before any spend.

Every paid call asks :func:`reserve` first. It sums this calendar month's :class:`CreditSpend`
rows (UTC), refuses with :class:`BudgetExceeded` (and sends ``budget_cap_reached``) when the call
would pass a cap, and otherwise writes the row before the call is made, so two calls in a row see
each other. The caller hands the row back with :func:`release` when the call certainly cost nothing
(refused before sending, a 4xx), or marks it :func:`uncertain` when it may have been charged.

The check and the insert run in one transaction but are not serialised across processes: two
calls racing at the very edge of a cap may both pass, overspending by at most one call each. A cap
is a guard against runaway spending (a bug, a bulk action, a public form), not an accounting system.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from django.db import transaction
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

    def __init__(self, cap: str, limit: float, spent: float, needed: float):
        self.cap, self.limit, self.spent, self.needed = cap, limit, spent, needed
        if cap == "user":
            message = _(
                "Your monthly BackgroundCut budget is used up (%(spent)g of %(limit)g credits; "
                "this needs %(needed)g). Ask an administrator to raise it."
            )
        else:
            message = _(
                "This site's monthly BackgroundCut budget is used up (%(spent)g of %(limit)g "
                "credits; this needs %(needed)g). Ask an administrator to raise it."
            )
        super().__init__(message % {"spent": spent, "limit": limit, "needed": needed})

    def __reduce__(self):
        return (type(self), (self.cap, self.limit, self.spent, self.needed))


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
    if user is None or not getattr(user, "is_authenticated", False):
        return ""
    return str(user.pk)


def _limit(value: object) -> float | None:
    return None if value is None else float(value)


def reserve(credits: float, *, kind: str, user: object = None) -> CreditSpend | None:
    """Check the caps for a call costing ``credits``; record it and return its row, or refuse.

    Free calls (0 credits) are neither checked nor recorded, and with no cap configured nothing is
    recorded either (no query per paid call for sites that do not use the guard; a cap set in the
    middle of a month counts from then on).
    """
    monthly = _limit(bgcut_settings.BUDGET_MONTHLY_CREDITS)
    per_user = _limit(bgcut_settings.BUDGET_USER_MONTHLY_CREDITS)
    if credits <= 0 or (monthly is None and per_user is None):
        return None
    user_id = _user_key(user)
    with transaction.atomic():
        checks = [("monthly", monthly, None)]
        if user_id:
            checks.append(("user", per_user, user_id))
        for cap, limit, who in checks:
            if limit is None:
                continue
            spent = spent_this_month(who)
            if spent + credits > limit + 1e-9:
                budget_cap_reached.send(
                    sender=CreditSpend,
                    cap=cap,
                    limit=limit,
                    spent=spent,
                    needed=credits,
                    user_id=user_id,
                )
                raise BudgetExceeded(cap, limit, spent, credits)
        return CreditSpend.objects.create(credits=credits, kind=kind, user_id=user_id)


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
class BudgetStatus:
    """What the admin status page shows."""

    monthly_limit: float | None
    user_limit: float | None
    spent: float
    uncertain: float
    since: datetime

    @property
    def remaining(self) -> float | None:
        return None if self.monthly_limit is None else max(self.monthly_limit - self.spent, 0.0)


def status() -> BudgetStatus:
    since = month_start()
    unsure = CreditSpend.objects.filter(created_at__gte=since, uncertain=True)
    return BudgetStatus(
        monthly_limit=_limit(bgcut_settings.BUDGET_MONTHLY_CREDITS),
        user_limit=_limit(bgcut_settings.BUDGET_USER_MONTHLY_CREDITS),
        spent=spent_this_month(),
        uncertain=float(unsure.aggregate(total=Sum("credits"))["total"] or 0.0),
        since=since,
    )
