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
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from ..api_facts import CONTENT_TYPES
from ..client import BackgroundCutClient
from ..client.exceptions import BackgroundCutError
from ..conf import bgcut_settings
from ..exceptions import BackendError, NotFound
from ..rate_limits import site_rate_limiter
from ..variants import Variant, estimate_credits
from .base import BackendResult, BaseBackend, CallJournal, Output, UploadRef

__all__ = ["BackgroundCutBackend", "OutputsExpired", "OutputsNotDownloaded", "PaidOutputs"]

# Downloads of one source's further variants in flight at once (the first runs in the job's own
# thread); a source rarely has more variants than a site has presets.
DOWNLOAD_THREADS = 4
_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _download_pool() -> ThreadPoolExecutor:
    """Threads for a source's further downloads: one pool per process, made on first use and
    kept, so its threads' clients keep their connections from job to job."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(
                max_workers=DOWNLOAD_THREADS, thread_name_prefix="bgcut-download"
            )
        return _pool


@dataclass
class PaidOutputs:
    """What one paid ``process-image`` call bought: a URL per variant name, valid until
    ``expires_at`` (our estimate: ``RESULT_URL_SECONDS``; the pages only say URLs expire)."""

    urls: dict[str, str]
    expires_at: datetime | None
    upload: UploadRef
    credits: float
    calls: dict[str, int] = field(default_factory=dict)


class OutputsNotDownloaded(BackendError):
    """Paid for, not downloaded: retry with ``download_outputs(error.paid.urls, ...)``, which
    costs nothing, while ``error.paid.expires_at`` has not passed. ``may_have_been_charged``
    is set (it was charged), so nothing retries it blindly by processing again."""

    may_have_been_charged = True

    def __init__(self, message: str, *, paid: PaidOutputs, retryable: bool) -> None:
        super().__init__(message, retryable=retryable)
        self.paid = paid


class OutputsExpired(BackendError):
    """The stored result URLs are past their expiry: only a new (paid) process call helps."""


class BackgroundCutBackend(BaseBackend):
    name = "backgroundcut"
    spends_credits = True
    #: Page 04: Bearer ``ai-cut/initialize`` "Cost 1 credit" (segment calls are free).
    ai_cut_credits = 1.0
    #: The pipeline hands ``process`` a CallJournal and stores what it reports on the rows.
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
            client = BackgroundCutClient(  # the money settings: docs/client.md
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
                download_allow=bgcut_settings.DOWNLOAD_ALLOW,
                download_deny=list(bgcut_settings.DOWNLOAD_DENY or ()),
                local_result_hosts=bool(bgcut_settings.DOWNLOAD_LOCAL_RESULT_HOSTS),
                max_download_bytes=bgcut_settings.MAX_DOWNLOAD_BYTES,
            )
            self._local.client = client
        return client

    def _upload(self, client, source_bytes: bytes) -> UploadRef:
        upload = client.upload_image(source_bytes)
        ttl = bgcut_settings.UPLOAD_REUSE_SECONDS
        expires = timezone.now() + timedelta(seconds=ttl) if ttl else None
        return UploadRef(upload.unique_filename, expires)

    def request_outputs(
        self,
        source_bytes: bytes,
        variants: Sequence[Variant],
        *,
        upload: UploadRef | None = None,
        journal: CallJournal | None = None,
    ) -> PaidOutputs:
        """Upload (or reuse ``upload``) and make ONE paid ``process-image`` call; download nothing.

        The budget guard is asked first, before even the (free) upload, so a refusal costs
        nothing at all; the journal's ``requested_by`` (the editor who asked) is charged too. The
        pipeline stores what this returns before downloading, so a failed
        download is retried with :meth:`download_outputs` from the stored URLs, never by paying
        again.
        """
        # Here, not at module top: the guard's model needs the app registry, and this module must
        # import without it (settings name it before apps are ready).
        from .. import budget

        credits = estimate_credits(variants)
        who = journal.requested_by if journal is not None else ""
        spend = budget.reserve(
            credits,
            kind="process_image",
            user=who or None,
            who=journal.requested_by_name if journal is not None else "",
        )
        try:
            paid = self._request_outputs(source_bytes, variants, upload, journal or CallJournal())
        except BaseException as error:
            budget.settle(spend, error)
            raise
        return paid

    def _request_outputs(
        self,
        source_bytes: bytes,
        variants: Sequence[Variant],
        upload: UploadRef | None,
        journal: CallJournal,
    ) -> PaidOutputs:
        """Each answer goes to ``journal`` before the next call, so the rows keep it."""
        client = self.get_client()
        calls = {"upload": 0, "process": 0, "download": 0}
        if (
            upload is not None
            and upload.expires_at is not None
            and upload.expires_at <= timezone.now()
        ):
            upload = None
        fresh = upload is None
        if upload is None:
            upload = self._journaled_upload(client, source_bytes, journal)
            calls["upload"] += 1
        try:
            journal.call = "process-image"
            journal.process_calls += 1
            calls["process"] += 1
            result = client.process_image(upload.unique_filename, list(variants))
        except NotFound:
            if fresh:
                raise
            # The provider forgot the upload before we expected (a 404 is not charged): upload
            # once more, then process once more (the one call the reservation stands for).
            upload = self._journaled_upload(client, source_bytes, journal)
            calls["upload"] += 1
            journal.call = "process-image"
            journal.process_calls += 1
            calls["process"] += 1
            result = client.process_image(upload.unique_filename, list(variants))
        ttl = bgcut_settings.RESULT_URL_SECONDS
        expires_at = timezone.now() + timedelta(seconds=ttl) if ttl else None
        journal.output_urls.update(result.output_urls)
        journal.output_urls_expire_at = expires_at
        journal.changed()  # stored with the rows before any download starts
        missing = [v.variant_name for v in variants if not result.output_urls.get(v.variant_name)]
        if missing:
            error = BackendError(
                f"BackgroundCut returned no output for variant(s) {', '.join(missing)}.",
                retryable=False,
            )
            error.may_have_been_charged = True  # it was paid for; a blind retry would pay again
            raise error
        return PaidOutputs(
            urls={v.variant_name: result.output_urls[v.variant_name] for v in variants},
            expires_at=expires_at,
            upload=upload,
            credits=estimate_credits(variants),
            calls=calls,
        )

    def _journaled_upload(
        self, client: BackgroundCutClient, source_bytes: bytes, journal: CallJournal
    ) -> UploadRef:
        journal.call = "upload-image"
        journal.upload_calls += 1
        upload = self._upload(client, source_bytes)
        journal.upload = upload
        journal.changed()
        return upload

    def download_outputs(
        self,
        urls: Mapping[str, str],
        variants: Sequence[Variant],
        *,
        expires_at: datetime | None = None,
    ) -> dict[str, Output]:
        """Download paid outputs from their stored URLs (never processes, never spends).

        The URLs are trusted as "named by the API" (they came from an authenticated answer and
        were stored by the server, never by a browser), so they may live on any https host with
        public addresses. Raises ``OutputsExpired`` after ``expires_at``.
        """
        if expires_at is not None and expires_at <= timezone.now():
            raise OutputsExpired(
                "The paid result URLs have expired; processing again would be charged again.",
                retryable=False,
            )
        for variant in variants:
            if not urls.get(variant.variant_name):
                raise BackendError(
                    f"No stored result URL for variant {variant.variant_name!r}.", retryable=False
                )
        # The downloads of one source go out together: a job's chain is then upload, process and
        # ONE download round trip instead of one per variant (docs/tasks.md, "Throughput"). The
        # first runs here, the others on a few long-lived threads of this process, each with its
        # own client (clients are per thread: sessions are not shared across threads).
        if not variants:
            return {}
        first, *rest = variants
        pending = [_download_pool().submit(self._download, urls, v) for v in rest]
        try:
            outputs = {first.variant_name: self._download(urls, first)}
        finally:
            # Every download finishes (or fails) before this returns: nothing runs on behind the
            # caller's back, and the first error in variant order is the one raised.
            results = [future.exception() or future.result() for future in pending]
        for variant, result in zip(rest, results, strict=True):
            if isinstance(result, BaseException):
                raise result
            outputs[variant.variant_name] = result
        return {v.variant_name: outputs[v.variant_name] for v in variants}

    def _download(self, urls: Mapping[str, str], variant: Variant) -> Output:
        client = self.get_client()
        url = urls[variant.variant_name]
        with client.download(url, expected_format=variant.format, named_by_api=True) as dl:
            fmt = dl.format or variant.format
            return Output(
                format=fmt,
                width=dl.width,
                height=dl.height,
                content_type=CONTENT_TYPES.get(fmt, "application/octet-stream"),
                data=dl.read_bytes(),
                credits=variant.credits,
            )

    def process(
        self,
        source_bytes: bytes,
        variants: Sequence[Variant],
        *,
        upload: UploadRef | None = None,
        journal: CallJournal | None = None,
    ) -> BackendResult:
        """:meth:`request_outputs` for the variants not yet paid for, then :meth:`download_outputs`.

        With a ``journal`` (the pipeline's), URLs paid for by an earlier attempt and still valid
        are downloaded again instead of paying again, and a failed download stays retryable: the
        retry is free. Without one, a download that fails after the charge raises
        ``OutputsNotDownloaded`` carrying the paid URLs (``error.paid``), never retried blindly.
        """
        keeping = journal is not None
        journal = journal if journal is not None else CallJournal()
        journal.upload_calls = journal.process_calls = 0
        calls = {"upload": 0, "process": 0, "download": 0}
        now = timezone.now()
        urls = dict(journal.output_urls)
        expires_at = journal.output_urls_expire_at
        if expires_at is not None and expires_at <= now:
            urls, expires_at = {}, None
        unpaid = [v for v in variants if v.variant_name not in urls]
        credits = 0.0
        if unpaid:
            paid = self.request_outputs(source_bytes, unpaid, upload=upload, journal=journal)
            urls.update(paid.urls)
            expires_at, upload, credits = paid.expires_at, paid.upload, paid.credits
            calls.update(upload=paid.calls["upload"], process=paid.calls["process"])
        journal.call = "download"
        try:
            outputs = self.download_outputs(urls, variants, expires_at=expires_at)
        except BackgroundCutError as error:
            if keeping:
                raise  # the URLs are on the rows: the retry downloads them again, free
            raise OutputsNotDownloaded(
                "BackgroundCut made the cut-outs, but downloading them failed: "
                f"{error.detail or error}",
                paid=PaidOutputs(urls, expires_at, upload, credits, calls),  # type: ignore[arg-type]
                retryable=False,
            ) from None
        calls["download"] = len(outputs)
        return BackendResult(outputs=outputs, credits=credits, upload=upload, calls=calls)

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
