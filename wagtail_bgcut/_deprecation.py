"""Old import paths that keep working for one more minor release, with a warning naming the new."""

from __future__ import annotations

import warnings


def warn_moved(old: str, new: str) -> None:
    """Warn (once per importing module) that ``old`` moved to ``new``."""
    warnings.warn(
        f"{old} is deprecated; import from {new} instead. The old path will be removed in 0.3.",
        DeprecationWarning,
        stacklevel=3,
    )
