"""Signal handlers: an image's file changed, so its AUTO_PROCESS presets are (re)queued."""

from __future__ import annotations


def register_signal_handlers() -> None:
    """Connect the handlers; called once from ``AppConfig.ready()``."""
