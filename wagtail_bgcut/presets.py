"""Named presets: ``WAGTAIL_BGCUT['PRESETS']`` plus presets registered by code at run time.

Like easy-thumbnails' aliases, third-party apps can ship their own presets with
``register_preset("card", {...})`` (from ``AppConfig.ready()``) without editing settings.
A registered preset overrides a settings preset of the same name.

The cache key of a cut-out is :func:`cutout_options_key`: the variant's options hash plus the engine
that makes it: switching from the local engine to the API never serves a local cut-out.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Mapping
from typing import Any

from django.core.signals import setting_changed
from django.dispatch import receiver

from .conf import bgcut_settings
from .exceptions import BgcutConfigurationError, UnknownPreset
from .variants import InvalidVariant, Variant

__all__ = [
    "all_presets",
    "cutout_options_key",
    "get_preset",
    "preset_help",
    "preset_labels",
    "register_preset",
    "unregister_preset",
]

_registered: dict[str, Variant] = {}
_lock = threading.Lock()
# Parsed settings presets, rebuilt when WAGTAIL_BGCUT changes (override_settings in tests).
_settings_cache: dict[str, Variant] | None = None


def _settings_presets() -> dict[str, Variant]:
    global _settings_cache
    cached = _settings_cache
    if cached is not None:
        return cached
    raw = bgcut_settings.PRESETS
    if not isinstance(raw, Mapping):
        raise BgcutConfigurationError(
            "WAGTAIL_BGCUT['PRESETS'] must be a dict of preset name -> variant options."
        )
    parsed: dict[str, Variant] = {}
    for name, options in raw.items():
        if isinstance(options, Mapping):
            # "label" and "help" are for editors (preset_labels), never sent to the API.
            _texts[name] = {k: str(options[k]) for k in TEXT_KEYS if options.get(k)}
            options = api_options(options)
        try:
            parsed[name] = Variant.from_dict(options, name=name)
        except InvalidVariant as exc:
            raise BgcutConfigurationError(f"Preset {name!r} is invalid: {exc}") from exc
    _settings_cache = parsed
    return parsed


@receiver(setting_changed)
def _reset_cache(*, setting: str, **kwargs: Any) -> None:
    global _settings_cache
    if setting == "WAGTAIL_BGCUT":
        _settings_cache = None


#: Preset keys for editors only ("label", "help"): shown in the admin, never sent to the API.
TEXT_KEYS = ("label", "help")


def api_options(options: Mapping[str, Any]) -> dict[str, Any]:
    """A preset's settings without the editors' keys: what ``Variant.from_dict`` validates."""
    return {k: v for k, v in options.items() if k not in TEXT_KEYS}


_texts: dict[str, dict[str, str]] = {}


def preset_labels() -> dict[str, str]:
    """Every preset's human label: its ``"label"``, else its name title-cased ("Full")."""
    _settings_presets()
    return {n: _texts.get(n, {}).get("label") or n.replace("_", " ").title() for n in all_presets()}


def preset_help(name: str) -> str:
    """The preset's ``"help"`` text for editors, or ``""``."""
    _settings_presets()
    return _texts.get(name, {}).get("help", "")


def all_presets() -> dict[str, Variant]:
    """Every preset by name: settings first, then run-time registrations (which win)."""
    presets = dict(_settings_presets())
    presets.update(_registered)
    return presets


def get_preset(name: str) -> Variant:
    """The validated :class:`~wagtail_bgcut.variants.Variant` for a preset name.

    Raises :class:`~wagtail_bgcut.exceptions.UnknownPreset` (a configuration error) naming the known
    presets when there is no such preset.
    """
    variant = _registered.get(name)
    if variant is not None:
        return variant
    presets = _settings_presets()
    try:
        return presets[name]
    except KeyError:
        raise UnknownPreset(name, sorted(all_presets())) from None


def register_preset(name: str, options: Mapping[str, Any] | Variant) -> Variant:
    """Add (or replace) a preset at run time; ``options`` spelled like ``output_variants`` items.

    Invalid options raise :class:`~wagtail_bgcut.variants.InvalidVariant` immediately.
    """
    if isinstance(options, Variant):
        variant = Variant.from_dict({**options.to_api(), "variant_name": name})
    else:
        variant = Variant.from_dict(options, name=name)
    with _lock:
        _registered[name] = variant
    return variant


def unregister_preset(name: str) -> None:
    """Remove a run-time preset (settings presets are untouched); unknown names are ignored."""
    with _lock:
        _registered.pop(name, None)


def cutout_options_key(variant: Variant, backend: Any) -> str:
    """The ``Cutout.options_key`` for a variant made by a backend (an instance or an engine id).

    The variant name is not part of it: two presets with the same options share one cut-out.
    """
    engine_id = backend if isinstance(backend, str) else backend.engine_id
    blob = f"{engine_id}\0{variant.options_key()}".encode()
    return hashlib.sha256(blob).hexdigest()[:40]
