"""Sending the core's signals (:mod:`wagtail_bgcut.signals`) so that no receiver can break the work.

``send_robust`` rather than ``send``: the cut-out is already stored (or its failure recorded) when
a signal goes out, so a failing receiver (a cache purge that times out, a site's own hook) is
logged with its traceback and the other receivers still run.
"""

from __future__ import annotations

import logging
from typing import Any

from django.dispatch import Signal

from ..models import Cutout

logger = logging.getLogger("wagtail_bgcut")


def announce(signal: Signal, **kwargs: Any) -> None:
    """Send ``signal`` from ``Cutout`` with these arguments; log what receivers raise."""
    for receiver, result in signal.send_robust(sender=Cutout, **kwargs):
        if isinstance(result, Exception):
            logger.error(
                "wagtail_bgcut: signal receiver %r failed",
                receiver,
                exc_info=(type(result), result, result.__traceback__),
            )
