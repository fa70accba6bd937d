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
    # Named presets: name -> variant options spelled as the API's output_variants items, plus an
    # optional "label" and "help" shown to editors (never sent to the API).
    "PRESETS": {
        "full": {
            "label": "Full size",
            "help": "The whole image at full resolution, as a transparent PNG.",
            "format": "png",
            "max_resolution": 12_000_000,
            "quality": "high",
        },
        "thumbnail": {
            "label": "Thumbnail",
            "help": "A small WebP cropped to the subject, for listings and cards.",
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
    # Largest source image the pipeline accepts, in pixels (decompression bombs are refused from
    # the header). 50 MP holds any phone and most cameras; the API itself takes at most 25 MP.
    "MAX_SOURCE_PIXELS": 50_000_000,
    # The local engine's segmentation model (needs the "onnx" extra): a catalogue name fetched
    # with `manage.py bgcut_model fetch NAME` (see `bgcut_model list`), a path to a
    # rembg-compatible .onnx file, "auto" (the best fetched catalogue model, else the built-in
    # segmenter) or None (always the built-in segmenter, which needs no model file).
    "LOCAL_MODEL": "auto",
    # Folder `bgcut_model fetch` downloads into and catalogue names are looked up in. None: the
    # per-user cache folder (~/.cache/wagtail-bgcut/models on Linux).
    "MODEL_DIR": None,
    # onnxruntime execution providers for LOCAL_MODEL, in order of preference: names or
    # (name, options) pairs as onnxruntime takes them, e.g. [("CUDAExecutionProvider",
    # {"device_id": 0}), "CPUExecutionProvider"]. One the installed onnxruntime lacks is skipped
    # (system check W011) and the CPU is always the last resort.
    "LOCAL_PROVIDERS": ["CPUExecutionProvider"],
    # onnxruntime's intra-op threads for LOCAL_MODEL; None: its default (one per physical core).
    "LOCAL_THREADS": None,
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
    # -- Workers and recovery (docs/tasks.md) --
    # Seconds before the first automatic retry of a transient failure; doubled for each further
    # attempt (with jitter), never sooner than the API's Retry-After.
    "RETRY_BACKOFF": 30,
    # Django cache alias holding the rate limiter's state, so all processes of a site share one
    # limit for the key. None: each process limits itself (only right with a single process).
    "RATE_LIMIT_CACHE": "default",
    # -- end of workers and recovery --
    # Direct browser uploads (docs/direct-upload.md). Dotted path of a callable(request) -> bool
    # deciding who may get an upload token and finalize; the default allows signed-in users.
    "DIRECT_UPLOAD_PERMISSION": "wagtail_bgcut.direct_upload.permissions.is_authenticated",
    # Django cache alias remembering used upload tickets and tokens (replay protection) and the
    # throttle counts. It must be shared by every web process (Redis, Memcached, database cache):
    # checks W021/E021/E022.
    "DIRECT_UPLOAD_CACHE": "default",
    # Token issues allowed per user and per client IP ("N/second|minute|hour|day"); None: no limit.
    "DIRECT_UPLOAD_THROTTLE": {"user": "20/hour", "ip": "60/hour"},
    # Seconds a site-signed upload ticket (and a local-engine token) stays valid.
    "DIRECT_UPLOAD_TOKEN_TTL": 300,
    # Preset names a browser may ask for (at most 5 per upload); None allows every preset.
    "DIRECT_UPLOAD_PRESETS": None,
    # Dotted path of callable(request, upload) -> dict that attaches a finalized upload to your
    # objects; the default creates a Wagtail image. Its dict is returned to the browser.
    "DIRECT_UPLOAD_HANDLER": "wagtail_bgcut.direct_upload.handlers.create_wagtail_image",
    # -- money: result hosts, paid results, budget (docs/client.md, docs/settings.md) ----------
    # Result URLs that an authenticated API response names are downloaded from their origin
    # (https, public addresses only). DOWNLOAD_ALLOW narrows those hosts to matching patterns
    # (None: any); DOWNLOAD_DENY refuses hosts always, even configured ones.
    "DOWNLOAD_ALLOW": None,
    "DOWNLOAD_DENY": [],
    # Let an emulator on loopback name http result hosts on loopback addresses. Tests only.
    "DOWNLOAD_LOCAL_RESULT_HOSTS": False,
    # Seconds a paid result URL is assumed to stay downloadable (the pages say only "URLs will
    # expire"); a failed download is retried from the stored URL within this time, never by
    # processing again.
    "RESULT_URL_SECONDS": 300,
    # Credits this site may spend per calendar month (UTC), all users together; None: no cap.
    "BUDGET_MONTHLY_CREDITS": None,
    # Credits one user may spend per calendar month through direct uploads and the admin; None.
    "BUDGET_USER_MONTHLY_CREDITS": None,
    # The public door's limits, checked from the file's header before anything is decoded
    # (docs/security.md). Pixels never above the API's own 25 MP, nor Wagtail's
    # WAGTAILIMAGES_MAX_IMAGE_PIXELS; Wagtail's WAGTAILIMAGES_MAX_UPLOAD_SIZE and extensions apply
    # too.
    "DIRECT_UPLOAD_MAX_PIXELS": 16_000_000,
    "DIRECT_UPLOAD_MAX_SIDE": 8_000,
    "DIRECT_UPLOAD_MAX_ASPECT": 20,
    # Megapixels of local-engine work per user and per client IP (same windows as the throttle):
    # tokens ration the attempts, this rations what the attempts make the server do.
    "DIRECT_UPLOAD_WORK_THROTTLE": {"user": "400/hour", "ip": "400/hour"},
    # Public local-engine uploads cut at once in one web process when no worker task backend runs
    # them (ImmediateBackend); beyond it the upload is answered 503 with Retry-After at once.
    # With a worker backend (db_worker, RQ) the upload is queued instead (docs/security.md).
    "DIRECT_UPLOAD_CONCURRENCY": 1,
    # Collection (id, or name made under the root) that the default handler puts visitors'
    # uploads in; None: the root collection.
    "DIRECT_UPLOAD_COLLECTION": "Visitor uploads",
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
