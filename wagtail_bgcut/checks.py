"""Django system checks for ``WAGTAIL_BGCUT``: misconfiguration fails at start-up, not mid-request.

Each check has a stable id (``wagtail_bgcut.E001`` ...) documented in docs/settings.md.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register
from django.utils.module_loading import import_string

from .conf import DEFAULT_BACKENDS, bgcut_settings
from .exceptions import InvalidVariant, MissingExtra
from .model_files.catalogue import resolve
from .variants import Variant

REMOTE_BACKENDS = {DEFAULT_BACKENDS["backgroundcut"]}


@register(Tags.compatibility)
def check_backend(app_configs=None, **kwargs):
    path = bgcut_settings.backend_path()
    try:
        import_string(path)
    except ImportError as exc:
        return [
            Error(
                f"WAGTAIL_BGCUT['BACKEND'] is {path!r}, which cannot be imported ({exc}).",
                hint="Use 'local', 'backgroundcut', 'dummy' or the dotted path of a backend class.",
                id="wagtail_bgcut.E001",
            )
        ]
    if path in REMOTE_BACKENDS and not bgcut_settings.API_KEY:
        return [
            Error(
                "The BackgroundCut backend is selected but no API key is configured.",
                hint="Set the BGCUT_API_KEY environment variable (or WAGTAIL_BGCUT['API_KEY']), "
                "or remove BACKEND to use the offline local engine.",
                id="wagtail_bgcut.E002",
            )
        ]
    return []


@register(Tags.compatibility)
def check_presets(app_configs=None, **kwargs):
    errors = []
    presets = bgcut_settings.PRESETS
    if not isinstance(presets, dict):
        return [
            Error(
                "WAGTAIL_BGCUT['PRESETS'] must be a dict of preset name -> variant options.",
                hint='For example {"thumbnail": {"format": "webp", "max_resolution": 250000}}.',
                id="wagtail_bgcut.E003",
            )
        ]
    for name, options in presets.items():
        try:
            Variant.from_dict(options, name=name)
        except InvalidVariant as exc:
            errors.append(
                Error(
                    f"Preset {name!r} is invalid: {exc}",
                    hint="Presets use the API's output_variants options: max_resolution "
                    "(250000..25000000), format (png/jpg/webp), background_color (#rrggbb or "
                    "transparent), quality (high/medium/low), output_compression (1..100), "
                    "autocrop.",
                    id="wagtail_bgcut.E003",
                )
            )
    auto = bgcut_settings.AUTO_PROCESS
    if isinstance(auto, str) or not all(isinstance(n, str) for n in auto or []):
        errors.append(
            Error(
                "WAGTAIL_BGCUT['AUTO_PROCESS'] must be a list of preset names.",
                hint='For example ["thumbnail"].',
                id="wagtail_bgcut.E004",
            )
        )
    else:
        for name in auto or []:
            if name not in presets:
                errors.append(
                    Error(
                        f"AUTO_PROCESS names the preset {name!r}, which is not in PRESETS.",
                        hint=f"Known presets: {', '.join(presets) or 'none'}.",
                        id="wagtail_bgcut.E004",
                    )
                )
    return errors


@register(Tags.compatibility)
def check_storage(app_configs=None, **kwargs):
    alias = bgcut_settings.STORAGE
    storages = getattr(settings, "STORAGES", {})
    if alias not in storages:
        return [
            Error(
                f"WAGTAIL_BGCUT['STORAGE'] is {alias!r}, which is not an alias in STORAGES.",
                hint=f"Use one of: {', '.join(storages) or 'default'}.",
                id="wagtail_bgcut.E005",
            )
        ]
    return []


@register(Tags.compatibility)
def check_api_urls(app_configs=None, **kwargs):
    errors = []
    for key in ("API_BASE", "TOKEN_API_BASE"):
        value = getattr(bgcut_settings, key)
        parts = urlsplit(value or "")
        if parts.scheme not in ("http", "https") or not parts.hostname:
            errors.append(
                Error(
                    f"WAGTAIL_BGCUT[{key!r}] is {value!r}, which is not an http(s) URL.",
                    hint="For example https://api.backgroundcut.co",
                    id="wagtail_bgcut.E006",
                )
            )
        elif parts.scheme == "http" and parts.hostname not in ("127.0.0.1", "localhost", "::1"):
            errors.append(
                Warning(
                    f"WAGTAIL_BGCUT[{key!r}] uses plain http; the API key would travel "
                    "unencrypted.",
                    hint="Use https outside local testing.",
                    id="wagtail_bgcut.W001",
                )
            )
    return errors


@register(Tags.compatibility)
def check_local_model(app_configs=None, **kwargs):
    """Load LOCAL_MODEL once at start-up so a bad or missing file never fails a request later."""
    model = bgcut_settings.LOCAL_MODEL
    if not model:
        return []
    path, spec = resolve(model, bgcut_settings.MODEL_DIR)
    if path is None:  # "auto" with nothing fetched: the built-in segmenter, by design
        return []
    if spec is not None and str(model) == spec.name and not path.is_file():
        return [
            Error(
                f"WAGTAIL_BGCUT['LOCAL_MODEL'] names the model {spec.name!r}, which is not "
                f"fetched into {str(path.parent)!r}.",
                hint=f"python manage.py bgcut_model fetch {spec.name}",
                id="wagtail_bgcut.E010",
            )
        ]
    if not path.is_file():
        return [
            Error(
                f"WAGTAIL_BGCUT['LOCAL_MODEL'] is {str(model)!r}, which is not a file nor a "
                "catalogued model name.",
                hint="Use a name from `python manage.py bgcut_model list`, a path to a "
                "rembg-compatible .onnx file, or None for the built-in segmenter. Nothing is "
                "downloaded at run time.",
                id="wagtail_bgcut.E007",
            )
        ]
    # Heavy: the imaging package loads OpenCV; only a configured model needs it here.
    from .imaging import ModelError
    from .model_files.segmenter import load_segmenter

    try:
        # get_segmenter caches the loaded model, so the first request does not load it again.
        load_segmenter(model, bgcut_settings.MODEL_DIR)
    except MissingExtra as exc:
        return [
            Error(
                f"WAGTAIL_BGCUT['LOCAL_MODEL'] is set but {exc.package} is not installed.",
                hint=f'pip install "wagtail-bgcut[{exc.extra}]"',
                id="wagtail_bgcut.E008",
            )
        ]
    except ModelError as exc:
        return [
            Error(
                f"WAGTAIL_BGCUT['LOCAL_MODEL'] cannot be used: {exc}",
                hint="Use a rembg-compatible ONNX model (u2net, isnet, BiRefNet...) that takes a "
                "1x3xHxW image and returns the mask first, or set LOCAL_MODEL to None. "
                "`python manage.py bgcut_model verify` checks fetched models' checksums.",
                id="wagtail_bgcut.E007",
            )
        ]
    return []
