"""The one place where ``settings.WAGTAIL_BGCUT`` is read.

Lookup order for every key (first found wins):

1. the ``WAGTAIL_BGCUT`` dict in Django settings;
2. an environment variable, for ``API_KEY`` only (``BGCUT_API_KEY``), keeping keys out of settings;
3. the default documented below.

Values are read at call time (``bgcut_settings.PRESETS``), so ``override_settings`` works in tests.
"""

from __future__ import annotations

import os
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from . import api_facts

# The configuration errors live here, next to the settings they describe, because they need Django
# and wagtail_bgcut.exceptions must import without it (that module re-exports them lazily). They
# derive from ImproperlyConfigured and NOT from BgcutError: code that catches operational failures
# to retry or report them can never swallow a misconfiguration.


class BgcutConfigurationError(ImproperlyConfigured):
    """A ``WAGTAIL_BGCUT`` setting is missing or wrong; the message says what to set."""


class UnknownPreset(BgcutConfigurationError):
    """A template, field or command asked for a preset that WAGTAIL_BGCUT['PRESETS'] lacks."""

    def __init__(self, name: str, known: list[str]):
        super().__init__(
            f"No preset named {name!r} in WAGTAIL_BGCUT['PRESETS'] "
            f"(known: {', '.join(known) or 'none'})."
        )


DEFAULT_BACKENDS = {
    "local": "wagtail_bgcut.backends.local.LocalBackend",
    "backgroundcut": "wagtail_bgcut.backends.backgroundcut.BackgroundCutBackend",
    "dummy": "wagtail_bgcut.backends.dummy.DummyBackend",
}

DEFAULTS: dict[str, Any] = {
    # Dotted path of the backend class. None picks the BackgroundCut backend when API_KEY is set and
    # the offline local engine otherwise. The short names in DEFAULT_BACKENDS are accepted too.
    "BACKEND": None,
    # Your BackgroundCut key. Prefer the BGCUT_API_KEY environment variable.
    "API_KEY": None,
    # Processing API (upload-image, process-image, ai-cut, v2). Paths such as /v3/... are appended.
    "API_BASE": api_facts.API_BASE,
    # Token API (remove-bg/token, ai-cut/token). Paths such as /v3/... are appended.
    "TOKEN_API_BASE": api_facts.TOKEN_API_BASE,
    # Named presets: name -> variant options spelled as the API's output_variants items.
    "PRESETS": {
        "full": {"format": "png", "max_resolution": 12_000_000, "quality": "high"},
        "thumbnail": {
            "format": "webp",
            "max_resolution": 250_000,
            "quality": "medium",
            "output_compression": 80,
            "autocrop": True,
        },
    },
    # Preset names generated in the background whenever an image's file changes.
    "AUTO_PROCESS": [],
    # A STORAGES alias where cut-outs are written. Originals are never touched.
    "STORAGE": "default",
    # Folder (inside STORAGE) that holds cut-out files.
    "UPLOAD_TO": "bgcut",
    # When True, a template render that finds no cut-out calls the backend and waits for it.
    "PROCESS_ON_RENDER": False,
    # (connect, read) timeouts in seconds for API calls.
    "TIMEOUT": (10.0, 300.0),
    # Retries for 429/503/504 and connection failures, with exponential backoff and jitter.
    "MAX_RETRIES": 4,
    # No call (retries included) takes longer than this many seconds in total.
    "MAX_RETRY_TIME": 300.0,
    # Requests per minute this process allows itself (the API's documented default is 40).
    "RATE_LIMIT": api_facts.RATE_LIMIT,
    # The ceiling the documented ramp-up may reach (40 doubling each busy minute, up to 500).
    "RATE_LIMIT_MAX": api_facts.RATE_LIMIT_MAX,
    # Hosts result files may be downloaded from ("*.example.com" matches subdomains). The hosts of
    # API_BASE and TOKEN_API_BASE are always allowed.
    "DOWNLOAD_HOSTS": list(api_facts.DOWNLOAD_HOSTS),
    # Largest result file accepted, in bytes.
    "MAX_DOWNLOAD_BYTES": 64 * 1024 * 1024,
    # Largest source image the pipeline accepts, in pixels (decompression bombs are refused).
    "MAX_SOURCE_PIXELS": 100_000_000,
    # The local engine's segmentation model (needs the "onnx" extra): a catalogue name fetched
    # with `manage.py bgcut_model fetch NAME` (see `bgcut_model list`), a path to a
    # rembg-compatible .onnx file, "auto" (the best fetched catalogue model, else the built-in
    # segmenter) or None (always the built-in segmenter, which needs no model file).
    "LOCAL_MODEL": "auto",
    # Folder `bgcut_model fetch` downloads into and catalogue names are looked up in. None: the
    # per-user cache folder (~/.cache/wagtail-bgcut/models on Linux).
    "MODEL_DIR": None,
    # django-tasks backend alias and queue for background work.
    "TASK_BACKEND": "default",
    "TASK_QUEUE": "default",
    # A job that holds a cut-out "processing" for longer than this is considered dead and retried.
    "LEASE_SECONDS": 600,
    # Maximum automatic attempts for a failing cut-out before it waits for a manual retry.
    "MAX_ATTEMPTS": 3,
    # bgcut_process asks for confirmation before spending more credits than this.
    "CONFIRM_CREDITS_ABOVE": 100,
    # Seconds an uploaded source's unique_filename is reused for more variants before uploading it
    # again (the API does not say; an earlier 404 triggers one re-upload anyway). 0: never reuse.
    "UPLOAD_REUSE_SECONDS": 3600,
    # Direct browser uploads (docs/direct-upload.md). Dotted path of a callable(request) -> bool
    # deciding who may get an upload token and finalize; the default allows signed-in users.
    "DIRECT_UPLOAD_PERMISSION": "wagtail_bgcut.direct_upload.permissions.is_authenticated",
    # Token issues allowed per user and per client IP ("N/second|minute|hour|day"); None: no limit.
    "DIRECT_UPLOAD_THROTTLE": {"user": "20/hour", "ip": "60/hour"},
    # Seconds a site-signed upload ticket (and a local-engine token) stays valid.
    "DIRECT_UPLOAD_TOKEN_TTL": 300,
    # Preset names a browser may ask for (at most 5 per upload); None allows every preset.
    "DIRECT_UPLOAD_PRESETS": None,
    # Dotted path of callable(request, upload) -> dict that attaches a finalized upload to your
    # objects; the default creates a Wagtail image. Its dict is returned to the browser.
    "DIRECT_UPLOAD_HANDLER": "wagtail_bgcut.direct_upload.handlers.create_wagtail_image",
}


class BgcutSettings:
    """Attribute access to the merged settings; unknown names raise AttributeError."""

    def __getattr__(self, name: str) -> Any:
        if name not in DEFAULTS:
            raise AttributeError(f"WAGTAIL_BGCUT has no setting {name!r}")
        user = getattr(settings, "WAGTAIL_BGCUT", None) or {}
        if name in user:
            return user[name]
        if name == "API_KEY":
            return os.environ.get("BGCUT_API_KEY") or None
        return DEFAULTS[name]

    def backend_path(self) -> str:
        """The backend class path in force, after the no-key-means-local rule."""
        backend = self.BACKEND
        if not backend:
            backend = "backgroundcut" if self.API_KEY else "local"
        return DEFAULT_BACKENDS.get(backend, backend)


bgcut_settings = BgcutSettings()
