"""The child side of the budget race test: one process, its own database connection, reserving.

Kept apart from the test module, which imports Django models at its top: a ``spawn``ed child
imports this module before Django is set up, then sets it up on the test's database.
"""

from __future__ import annotations

import os
from typing import Any


def reserve_in_rounds(
    env: dict[str, str], barrier: Any, rounds: int, credits: float, user: str, out: Any
) -> None:
    """Set Django up on the test's database, then reserve once per round, all children at the
    same moment (``barrier``); put how many reservations passed on ``out``."""
    os.environ.update(env)
    import django

    django.setup()
    from django.db import connection

    from wagtail_bgcut import budget

    passed = refused = 0
    for _ in range(rounds):
        barrier.wait(timeout=60)
        try:
            budget.reserve(credits, kind="process_image", user=user or None)
        except budget.BudgetExceeded:
            refused += 1
        else:
            passed += 1
    connection.close()
    out.put((passed, refused))
