"""A faithful local emulator of the BackgroundCut API, for users' tests and ours.

Use :class:`EmulatorServer` directly, the ``bgcut_server`` pytest fixture (see
``docs/testing.md``), or ``python -m wagtail_bgcut.testing.server`` from a shell. The emulator
depends on ``wagtail_bgcut.variants`` and ``wagtail_bgcut.imaging`` only (never on Django or the
client), so it can vouch for the client.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__all__ = ["Charge", "EmulatorServer", "LoggedRequest"]

# Imported on first use, so ``python -m wagtail_bgcut.testing.server`` does not load the server
# module twice (runpy warns when the package has already imported it).
_LAZY = {
    "EmulatorServer": "wagtail_bgcut.testing.server",
    "Charge": "wagtail_bgcut.testing.state",
    "LoggedRequest": "wagtail_bgcut.testing.state",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(module), name)


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])
