"""Django-level errors. API errors live in :mod:`wagtail_bgcut.client.exceptions`.

The configuration error subclasses ``ImproperlyConfigured`` and stays outside the API error tree so
that code catching API failures can never swallow a misconfiguration.
"""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured


class BgcutConfigurationError(ImproperlyConfigured):
    """A ``WAGTAIL_BGCUT`` setting is missing or wrong; the message says what to set."""


class MissingDependency(BgcutConfigurationError):
    """An optional dependency is not installed; the message names the pip extra."""

    def __init__(self, package: str, extra: str, feature: str):
        super().__init__(
            f"{feature} needs {package}, which is not installed. "
            f'Install it with: pip install "wagtail-bgcut[{extra}]"'
        )


class UnknownPreset(BgcutConfigurationError):
    """A template, field or command asked for a preset that WAGTAIL_BGCUT['PRESETS'] lacks."""

    def __init__(self, name: str, known: list[str]):
        super().__init__(
            f"No preset named {name!r} in WAGTAIL_BGCUT['PRESETS'] "
            f"(known: {', '.join(known) or 'none'})."
        )
