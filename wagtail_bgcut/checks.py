"""Django system checks for ``WAGTAIL_BGCUT``: misconfiguration fails at start-up, not mid-request.

Each check has a stable id (``wagtail_bgcut.E001`` ...) documented in docs/settings.md.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils.module_loading import import_string

from .api_facts import MAX_UPLOAD_PIXELS
from .conf import DEFAULT_BACKENDS, bgcut_settings
from .exceptions import InvalidVariant, MissingExtra
from .model_files.catalogue import resolve
from .presets import api_options
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
            Variant.from_dict(
                api_options(options) if isinstance(options, dict) else options, name=name
            )
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
    if bgcut_settings.backend_path() == DEFAULT_BACKENDS["backgroundcut"]:
        # The API makes every cut-out: loading the model would cost each web process and worker
        # seconds and hundreds of MB at start-up for a file nothing uses. The file's presence is
        # checked above; the local backend loads and checks it when a site switches to it.
        return []
    # Heavy: the imaging package loads OpenCV; only a configured model needs it here.
    from .imaging import ModelError
    from .model_files.segmenter import load_segmenter

    try:
        # get_segmenter caches the loaded model, so the first request does not load it again.
        load_segmenter(
            model,
            bgcut_settings.MODEL_DIR,
            providers=_valid_providers(),
            threads=_valid_threads(),
        )
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


def _provider_problems() -> list[str]:
    from .imaging.onnx_model import provider_problem  # here: keeps start-up light (OpenCV)

    providers = bgcut_settings.LOCAL_PROVIDERS
    if providers is None:
        return []
    if isinstance(providers, str) or not isinstance(providers, list | tuple):
        return [f"{providers!r} is not a list"]
    return [p for p in map(provider_problem, providers) if p]


def _threads_problem() -> str | None:
    threads = bgcut_settings.LOCAL_THREADS
    whole = isinstance(threads, int) and not isinstance(threads, bool)
    if threads is None or (whole and threads > 0):
        return None
    return f"LOCAL_THREADS is {threads!r}, not None or a whole number >= 1"


def _valid_providers() -> list | None:
    """LOCAL_PROVIDERS when well formed (E011 reports it otherwise; the CPU is used meanwhile)."""
    return None if _provider_problems() else bgcut_settings.LOCAL_PROVIDERS


def _valid_threads() -> int | None:
    return None if _threads_problem() else bgcut_settings.LOCAL_THREADS


@register(Tags.compatibility)
def check_local_providers(app_configs=None, **kwargs):
    """LOCAL_PROVIDERS well formed (E011) and offered by the installed onnxruntime (W011).

    Only when a model is in use: the built-in segmenter runs no onnxruntime, and start-up stays
    light (the imaging package loads OpenCV).
    """
    if not bgcut_settings.LOCAL_MODEL:
        return []
    path, _spec = resolve(bgcut_settings.LOCAL_MODEL, bgcut_settings.MODEL_DIR)
    if path is None:  # "auto" with nothing fetched: the built-in segmenter
        return []
    problems = _provider_problems()
    threads = _threads_problem()
    if problems or threads:
        return [
            Error(
                f"WAGTAIL_BGCUT['LOCAL_PROVIDERS'/'LOCAL_THREADS'] cannot be used: "
                f"{'; '.join(problems + ([threads] if threads else []))}.",
                hint='For example "LOCAL_PROVIDERS": [("CUDAExecutionProvider", {"device_id": 0}), '
                '"CPUExecutionProvider"], "LOCAL_THREADS": 2.',
                id="wagtail_bgcut.E011",
            )
        ]
    if not bgcut_settings.LOCAL_PROVIDERS:
        return []
    from .imaging.onnx_model import available_providers, unavailable_providers  # OpenCV: lazy

    try:
        missing = unavailable_providers(bgcut_settings.LOCAL_PROVIDERS)
        offered = available_providers()
    except MissingExtra:  # check_local_model reports it (E008)
        return []
    if not missing:
        return []
    return [
        Warning(
            f"WAGTAIL_BGCUT['LOCAL_PROVIDERS'] names {', '.join(missing)}, which the installed "
            f"onnxruntime does not offer (it offers {', '.join(offered)}). The model runs on the "
            "next provider in the list, and on the CPU when none is left.",
            hint="Install the onnxruntime build for that provider (for example onnxruntime-gpu "
            "for CUDAExecutionProvider), or remove it from LOCAL_PROVIDERS.",
            id="wagtail_bgcut.W011",
        )
    ]


# -- money: result hosts and the credit budget (wagtail_bgcut.E030-E039, W030-W039) ---------------


def _pattern_errors(name: str, value: object) -> list[Error]:
    # The client's own parser, so a check passes exactly when the client accepts the entry.
    from .client.hosts import _pattern  # here: only this check needs it (keeps start-up light)

    if value is None and name == "DOWNLOAD_ALLOW":
        return []
    if isinstance(value, str) or not isinstance(value, list | tuple):
        return [
            Error(
                f"WAGTAIL_BGCUT['{name}'] must be a list of host patterns.",
                hint='For example ["cdn.example.com", "*.example.net", "https://files.example.org:8443"].',
                id="wagtail_bgcut.E031",
            )
        ]
    errors = []
    for entry in value:
        try:
            if not isinstance(entry, str) or not entry.strip():
                raise ValueError("not a host pattern")
            _pattern(entry)
        except Exception as exc:  # ValueError or the client's DownloadError for a bad URL
            errors.append(
                Error(
                    f"WAGTAIL_BGCUT['{name}'] has an invalid entry {entry!r} ({exc}).",
                    hint="Use a host, a leading '*.' wildcard, or scheme://host:port.",
                    id="wagtail_bgcut.E031",
                )
            )
    return errors


@register(Tags.compatibility)
def check_money(app_configs=None, **kwargs):
    errors: list[Error | Warning] = []
    for name in ("BUDGET_MONTHLY_CREDITS", "BUDGET_USER_MONTHLY_CREDITS"):
        value = getattr(bgcut_settings, name)
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int | float) or value < 0
        ):
            errors.append(
                Error(
                    f"WAGTAIL_BGCUT['{name}'] must be None (no cap) or a number of credits >= 0.",
                    id="wagtail_bgcut.E030",
                )
            )
    errors += _pattern_errors("DOWNLOAD_ALLOW", bgcut_settings.DOWNLOAD_ALLOW)
    errors += _pattern_errors("DOWNLOAD_DENY", bgcut_settings.DOWNLOAD_DENY)
    ttl = bgcut_settings.RESULT_URL_SECONDS
    if isinstance(ttl, bool) or not isinstance(ttl, int | float) or ttl < 0:
        errors.append(
            Error(
                "WAGTAIL_BGCUT['RESULT_URL_SECONDS'] must be a number of seconds >= 0.",
                id="wagtail_bgcut.E032",
            )
        )
    if bgcut_settings.DOWNLOAD_LOCAL_RESULT_HOSTS and not settings.DEBUG:
        host = urlsplit(str(bgcut_settings.API_BASE)).hostname or ""
        if host not in ("127.0.0.1", "localhost", "::1"):
            errors.append(
                Warning(
                    "WAGTAIL_BGCUT['DOWNLOAD_LOCAL_RESULT_HOSTS'] is on while API_BASE is not an "
                    "emulator on this machine: result URLs may point at loopback http hosts.",
                    hint="Use it only with the bundled emulator (tests).",
                    id="wagtail_bgcut.W030",
                )
            )
    return errors


# -- ecosystem checks (wagtail_bgcut.E050-E059 / W050-W059) ---------------------------------------


@register(Tags.compatibility)
def check_preset_extra(app_configs=None, **kwargs):
    """W050: a preset's ``extra`` options reach only the API; the local engine refuses them."""
    presets = bgcut_settings.PRESETS
    if not isinstance(presets, dict) or bgcut_settings.backend_path() != DEFAULT_BACKENDS["local"]:
        return []
    return [
        Warning(
            f"Preset {name!r} has 'extra' options, which the local engine cannot honour: its "
            "cut-outs will fail with that reason.",
            hint="Set an API key to use BackgroundCut, or remove 'extra' from the preset.",
            id="wagtail_bgcut.W050",
        )
        for name, options in presets.items()
        if isinstance(options, dict) and options.get("extra")
    ]


@register(Tags.security)
def check_direct_upload_limits(app_configs=None, **kwargs):
    """The public door's limits must be numbers that bound the work a stranger can cause."""
    errors = []
    for name, low, high in (
        ("DIRECT_UPLOAD_MAX_PIXELS", 1, MAX_UPLOAD_PIXELS),
        ("DIRECT_UPLOAD_MAX_SIDE", 1, 100_000),
        ("DIRECT_UPLOAD_MAX_ASPECT", 1, 1_000),
        ("DIRECT_UPLOAD_CONCURRENCY", 1, 64),
    ):
        value = getattr(bgcut_settings, name)
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not low <= value <= high
        ):
            errors.append(
                Error(
                    f"WAGTAIL_BGCUT[{name!r}] is {value!r}; it must be a number from {low:,} to "
                    f"{high:,}.",
                    hint="These limits bound what an anonymous upload can make the server do "
                    "(docs/security.md); the API itself accepts at most 25 megapixels.",
                    id="wagtail_bgcut.E040",
                )
            )
    return errors


# -- Workers and recovery (wagtail_bgcut.E020-E029 / W020-W029) --

PROCESS_LOCAL_CACHES = {
    "django.core.cache.backends.locmem.LocMemCache",
    "django.core.cache.backends.dummy.DummyCache",
}
IN_PROCESS_TASK_BACKENDS = {
    "django_tasks.backends.immediate.ImmediateBackend",
    "django_tasks.backends.dummy.DummyBackend",
}


@register(Tags.compatibility)
def check_shared_rate_limit(app_configs=None, **kwargs):
    """A worker backend runs jobs in other processes: their rate limit must be shared."""
    alias = bgcut_settings.RATE_LIMIT_CACHE
    if bgcut_settings.RATE_LIMIT is None:
        return []
    caches = getattr(settings, "CACHES", {}) or {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    }
    if alias and alias not in caches:
        return [
            Error(
                f"WAGTAIL_BGCUT['RATE_LIMIT_CACHE'] is {alias!r}, which is not an alias in CACHES.",
                hint=f"Use one of: {', '.join(caches)}; or None to limit each process alone.",
                id="wagtail_bgcut.E020",
            )
        ]
    task_backend = (getattr(settings, "TASKS", {}) or {}).get(bgcut_settings.TASK_BACKEND, {})
    if task_backend.get("BACKEND") in IN_PROCESS_TASK_BACKENDS or not task_backend:
        return []
    if not alias or caches[alias].get("BACKEND") in PROCESS_LOCAL_CACHES:
        return [
            Warning(
                "Cut-outs are made by worker processes, but the BackgroundCut rate limit is "
                "counted per process"
                + (f" (the cache {alias!r} is process-local)." if alias else "."),
                hint="Point WAGTAIL_BGCUT['RATE_LIMIT_CACHE'] at a cache all processes share "
                "(Redis, Memcached), or several workers will exceed the account's rate and "
                "meet 429s.",
                id="wagtail_bgcut.W020",
            )
        ]
    return []


DIRECT_UPLOAD_VIEWS = {
    ("wagtail_bgcut.direct_upload.views", name)
    for name in ("FinalizeView", "LocalProcessView", "TokenView")
}


def _direct_upload_mounted() -> bool:
    """Whether the URLconf serves the direct-upload views (under any prefix or namespace, or a
    subclass of them). Matched by name, so this core module never imports the Wagtail glue."""
    todo = list(get_resolver().url_patterns)
    while todo:
        entry = todo.pop()
        if isinstance(entry, URLResolver):
            todo.extend(entry.url_patterns)
        elif isinstance(entry, URLPattern):
            view_class = getattr(entry.callback, "view_class", None)
            if isinstance(view_class, type) and any(
                (cls.__module__, cls.__name__) in DIRECT_UPLOAD_VIEWS for cls in view_class.__mro__
            ):
                return True
    return False


@register(Tags.security, Tags.caches)
def check_direct_upload_cache(app_configs=None, **kwargs):
    """Used upload tickets and tokens must be remembered where every web process looks."""
    alias = bgcut_settings.DIRECT_UPLOAD_CACHE
    caches = getattr(settings, "CACHES", {}) or {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    }
    if alias not in caches:
        return [
            Error(
                f"WAGTAIL_BGCUT['DIRECT_UPLOAD_CACHE'] is {alias!r}, which is not an alias in "
                "CACHES.",
                hint=f"Use one of: {', '.join(caches)}.",
                id="wagtail_bgcut.E021",
            )
        ]
    backend = caches[alias].get("BACKEND")
    if backend not in PROCESS_LOCAL_CACHES:
        return []
    try:
        mounted = _direct_upload_mounted()
    except Exception:  # a broken URLconf is Django's own check to report
        return []
    if not mounted:
        return []
    if backend == "django.core.cache.backends.dummy.DummyCache":
        return [
            Error(
                f"Direct uploads are served, but the cache {alias!r} (DummyCache) remembers "
                "nothing: a finalize request can be replayed and every throttle is off.",
                hint="Point WAGTAIL_BGCUT['DIRECT_UPLOAD_CACHE'] at a cache all web processes "
                "share (Redis, Memcached, the database cache).",
                id="wagtail_bgcut.E022",
            )
        ]
    return [
        Warning(
            f"Direct uploads are served, but the cache {alias!r} is process-local: with several "
            "web processes, a ticket or token used in one is accepted again by another, and "
            "each process throttles alone.",
            hint="Point WAGTAIL_BGCUT['DIRECT_UPLOAD_CACHE'] at a cache all web processes share "
            "(Redis, Memcached, the database cache); a single-process development server is "
            "safe, and may silence wagtail_bgcut.W021.",
            id="wagtail_bgcut.W021",
        )
    ]


# -- end of workers and recovery --
