"""The BackgroundCut API backend: one upload, one multi-variant process call, outputs downloaded.

Credits are spent per variant, so the backend asks for every missing variant of a source in ONE
``process-image`` call, reuses the provider's ``unique_filename`` while it is valid (a new preset
for the same bytes costs no second upload), re-uploads once when the provider says it expired
(404), and downloads every output before its temporary URL expires. Result files are fetched
through the client, which only talks to allowed hosts and caps the size.

This module never imports the imaging package (and so never loads OpenCV): the provider renders,
and the facts it needs (content types per format) come from :mod:`wagtail_bgcut.api_facts`.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from django.utils import timezone

from ..api_facts import CONTENT_TYPES
from ..client import BackgroundCutClient
from ..conf import bgcut_settings
from ..exceptions import BackendError, NotFound
from ..rate_limits import site_rate_limiter
from ..variants import Variant, estimate_credits
from .base import BackendResult, BaseBackend, CallJournal, Output, UploadRef


class BackgroundCutBackend(BaseBackend):
    name = "backgroundcut"
    spends_credits = True
    keeps_journal = True

    def __init__(self, **options: Any):
        super().__init__(**options)
        self._local = threading.local()

    @property
    def engine_id(self) -> str:
        return "backgroundcut:v3"

    def get_client(self) -> BackgroundCutClient:
        """A client built from settings (one per thread: sessions are not shared across threads)."""
        client = getattr(self._local, "client", None)
        if client is None:
            api_key = self.options.get("api_key") or bgcut_settings.API_KEY
            if not api_key:
                raise BackendError(
                    "No BackgroundCut API key configured.",
                    detail="Set BGCUT_API_KEY or WAGTAIL_BGCUT['API_KEY'].",
                )
            timeout = bgcut_settings.TIMEOUT
            if isinstance(timeout, list):
                timeout = tuple(timeout)
            rate = bgcut_settings.RATE_LIMIT
            # One limit for all processes of the site, kept in RATE_LIMIT_CACHE (rate_limits.py).
            limiter = (
                site_rate_limiter(api_key, rate, bgcut_settings.RATE_LIMIT_MAX)
                if rate is not None
                else None
            )
            client = BackgroundCutClient(
                api_key,
                api_base=bgcut_settings.API_BASE,
                token_api_base=bgcut_settings.TOKEN_API_BASE,
                timeout=timeout,
                max_retries=bgcut_settings.MAX_RETRIES,
                max_retry_time=bgcut_settings.MAX_RETRY_TIME,
                rate_limit=bgcut_settings.RATE_LIMIT,
                rate_limit_max=bgcut_settings.RATE_LIMIT_MAX,
                rate_limiter=limiter,
                download_hosts=list(bgcut_settings.DOWNLOAD_HOSTS),
                max_download_bytes=bgcut_settings.MAX_DOWNLOAD_BYTES,
            )
            self._local.client = client
        return client

    def _upload(self, client, source_bytes: bytes) -> UploadRef:
        upload = client.upload_image(source_bytes)
        ttl = bgcut_settings.UPLOAD_REUSE_SECONDS
        expires = timezone.now() + timedelta(seconds=ttl) if ttl else None
        return UploadRef(upload.unique_filename, expires)

    def process(
        self,
        source_bytes: bytes,
        variants: Sequence[Variant],
        *,
        upload: UploadRef | None = None,
        journal: CallJournal | None = None,
    ) -> BackendResult:
        client = self.get_client()
        journal = journal if journal is not None else CallJournal()
        calls = {"upload": 0, "process": 0, "download": 0}
        now = timezone.now()
        if upload is not None and upload.expires_at is not None and upload.expires_at <= now:
            upload = None
        paid = dict(journal.output_urls)
        if journal.output_urls_expire_at is not None and journal.output_urls_expire_at <= now:
            paid = {}
        unpaid = [v for v in variants if v.variant_name not in paid]
        if unpaid:
            upload, urls = self._upload_and_process(client, source_bytes, unpaid, upload, journal)
            calls["upload"] += journal.upload_calls
            calls["process"] += journal.process_calls
            paid.update(urls)
        outputs: dict[str, Output] = {}
        journal.call = "download"
        for variant in variants:
            url = paid.get(variant.variant_name)
            if not url:
                raise BackendError(
                    f"BackgroundCut returned no output for variant {variant.variant_name!r}.",
                    retryable=True,
                )
            calls["download"] += 1
            with client.download(url, expected_format=variant.format) as download:
                with open(download.path, "rb") as fh:
                    data = fh.read()
                fmt = download.format or variant.format
                outputs[variant.variant_name] = Output(
                    format=fmt,
                    width=download.width,
                    height=download.height,
                    content_type=CONTENT_TYPES.get(fmt, "application/octet-stream"),
                    data=data,
                    credits=variant.credits,
                )
        return BackendResult(
            outputs=outputs, credits=estimate_credits(variants), upload=upload, calls=calls
        )

    def _upload_and_process(
        self,
        client: BackgroundCutClient,
        source_bytes: bytes,
        variants: list[Variant],
        upload: UploadRef | None,
        journal: CallJournal,
    ) -> tuple[UploadRef, dict[str, str]]:
        """Upload (unless a valid handle exists) and process; each answer goes to the journal."""
        journal.upload_calls = journal.process_calls = 0
        fresh = upload is None
        if upload is None:
            upload = self._journaled_upload(client, source_bytes, journal)
        try:
            journal.call = "process-image"
            journal.process_calls += 1
            result = client.process_image(upload.unique_filename, variants)
        except NotFound:
            if fresh:
                raise
            # The provider forgot the upload before we expected: upload once more, then retry once.
            upload = self._journaled_upload(client, source_bytes, journal)
            journal.call = "process-image"
            journal.process_calls += 1
            result = client.process_image(upload.unique_filename, variants)
        ttl = bgcut_settings.OUTPUT_URL_REUSE_SECONDS
        journal.output_urls.update(result.output_urls)
        journal.output_urls_expire_at = timezone.now() + timedelta(seconds=ttl) if ttl else None
        journal.changed()  # stored with the rows before any download starts
        return upload, dict(result.output_urls)

    def _journaled_upload(
        self, client: BackgroundCutClient, source_bytes: bytes, journal: CallJournal
    ) -> UploadRef:
        journal.call = "upload-image"
        journal.upload_calls += 1
        upload = self._upload(client, source_bytes)
        journal.upload = upload
        journal.changed()
        return upload

    def ai_cut_start(self, source_bytes: bytes) -> Any:
        return self.get_client().ai_cut_initialize(source_bytes)

    def ai_cut_segment(self, handle, green, red, request_number) -> bytes:
        client = self.get_client()
        result = client.ai_cut_segment(
            handle.unique_filename,
            green,
            red,
            request_number,
            scale=getattr(handle, "scale", 1.0) or 1.0,
        )
        with (
            client.download(result.output_url, expected_format="png") as download,
            open(download.path, "rb") as fh,
        ):
            return fh.read()
