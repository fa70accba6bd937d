"""The three endpoints of the direct-upload flow.

- ``TokenView`` (POST, CSRF): permission, throttle, then an access token for the requested presets
  (from the Token API with the server's key, or a site-signed local token) plus a signed ticket.
- ``LocalProcessView`` (POST multipart ``token`` + ``image``): the local engine behind the same
  JSON shape as the Processing API, for sites without an API key. With a worker task backend it
  stores the original, queues the cut and answers 202 with a status URL (``LocalStatusView``,
  GET, readable only by the uploader); otherwise it cuts in a bounded slot of the request.
- ``FinalizeView`` (POST JSON, CSRF): checks the ticket, fetches the files, stores the cut-outs,
  runs the handler. Every refusal happens before anything is written.

Errors answer ``{"detail": ...}`` like the API; no response ever carries the API key.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from django.core import signing
from django.db import transaction
from django.http import HttpRequest, JsonResponse
from django.urls import reverse
from django.utils.crypto import constant_time_compare
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views import View
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django_tasks import TaskResultStatus
from django_tasks.exceptions import TaskResultDoesNotExist, TaskResultMismatch

from .. import budget
from ..backends.backgroundcut import BackgroundCutBackend
from ..backends.base import get_backend
from ..conf import bgcut_settings
from ..exceptions import BackendError, BackgroundCutError, UnknownPreset
from ..models import Cutout, cutout_storage
from ..presets import all_presets, get_preset
from ..variants import estimate_credits
from . import tokens
from .finalize import (
    MAX_SOURCE_BYTES,
    ResultError,
    check_content,
    check_output,
    delete_files,
    download_api_result,
    load_local_result,
    save_local_outputs,
    save_local_source,
    store_cutouts,
)
from .handlers import resolve_handler
from .jobs import Busy, cut, enqueue_cut, in_worker, job_result, read_job, work_slot
from .limits import ImageRefused, check_upload
from .permissions import resolve_permission
from .throttle import check_throttle, check_work

logger = logging.getLogger("wagtail_bgcut")

MAX_PRESETS = 5
MAX_JSON_BYTES = 64 * 1024
MAX_URL = 2048
REFERENCE_SALT = "wagtail_bgcut.direct_upload.reference"


def delete_rolled_back(names: list[str]) -> None:
    """Delete files written inside a transaction that rolled back, unless a row still names them.

    A cut-out that already existed before this request keeps its file; one whose row vanished
    with the rollback would otherwise stay in storage forever, unreferenced.
    """
    for name in names:
        if name and not Cutout.objects.filter(file=name).exists():
            delete_files([name])


def error(message: str, status: int, **headers: str) -> JsonResponse:
    response = JsonResponse({"detail": message}, status=status)
    for key, value in headers.items():
        response[key.replace("_", "-")] = value
    return response


def current_mode() -> str:
    """ "api" when the BackgroundCut backend is configured, else "local" (the site's engine)."""
    return "api" if isinstance(get_backend(), BackgroundCutBackend) else "local"


def _json_body(request: HttpRequest) -> dict[str, Any]:
    if len(request.body) > MAX_JSON_BYTES:
        raise ResultError(_("The request is too large."), 413)
    try:
        data = json.loads(request.body or b"{}")
    except ValueError:
        raise ResultError(_("The request body is not valid JSON.")) from None
    if not isinstance(data, dict):
        raise ResultError(_("The request body must be a JSON object."))
    return data


def clean_presets(value: Any) -> list[str]:
    """Known, allowed, distinct preset names (1..5); ResultError naming the problem."""
    if isinstance(value, str):
        value = [v for v in value.split(",") if v.strip()]
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise ResultError(_("Ask for at least one preset, as a list of names."))
    names = list(dict.fromkeys(v.strip() for v in value))
    if len(names) > MAX_PRESETS:
        raise ResultError(_("At most %(n)d presets per upload.") % {"n": MAX_PRESETS})
    allowed = bgcut_settings.DIRECT_UPLOAD_PRESETS
    allowed = set(all_presets()) if allowed is None else set(allowed)
    for name in names:
        if name not in allowed:
            raise ResultError(_("Preset %(name)r is not available for uploads.") % {"name": name})
        try:
            get_preset(name)
        except UnknownPreset:
            raise ResultError(_("Preset %(name)r does not exist.") % {"name": name}) from None
    return names


class _Base(View):
    http_method_names = ["post"]
    #: Override per URL with ``as_view(permission=..., handler=...)``; None reads the settings.
    permission: Any = None
    handler: Any = None

    def allowed(self, request: HttpRequest) -> bool:
        return bool(resolve_permission(self.permission)(request))


@method_decorator(never_cache, name="dispatch")
class TokenView(_Base):
    """Issue an access token + a signed ticket for a set of presets."""

    def post(self, request: HttpRequest) -> JsonResponse:
        if not self.allowed(request):
            return error(_("You are not allowed to upload images here."), 403)
        hit = check_throttle(request)
        if hit is not None:
            return error(
                _("Too many uploads; try again in %(s)d seconds.") % {"s": hit.retry_after},
                429,
                Retry_After=str(hit.retry_after),
            )
        try:
            data = _json_body(request) if request.content_type == "application/json" else {}
            presets = clean_presets(data.get("presets", request.POST.getlist("presets")))
        except ResultError as exc:
            return error(str(exc), exc.status)
        ttl = int(bgcut_settings.DIRECT_UPLOAD_TOKEN_TTL)
        mode = current_mode()
        unique_filename = ""
        if mode == "api":
            # Page 01: the Token API is where credits are deducted, so the budget guard asks here.
            variants = [get_preset(p) for p in presets]
            try:
                spend = budget.reserve(
                    estimate_credits(variants), kind="remove_bg_token", user=request.user
                )
            except budget.BudgetExceeded as exc:
                return error(str(exc), 402)
            try:
                client = get_backend().get_client()
                access = client.create_remove_bg_token(variants)
            except (BackgroundCutError, BackendError) as exc:
                budget.settle(spend, exc)
                # Logged by class and status only; the browser gets no provider detail.
                logger.warning(
                    "wagtail_bgcut: token request failed: %s %s",
                    type(exc).__name__,
                    getattr(exc, "status", ""),
                )
                return error(_("Uploads are unavailable right now; try again later."), 503)
            access_token = access.access_token
            process_url = client.api_base + "/v3/remove-bg/"
        else:
            access_token, unique_filename = tokens.issue_local_token(presets, ttl)
            # Relative: the browser posts to the page's own origin, whatever proxies say.
            process_url = reverse(f"{request.resolver_match.namespace}:process")
        ticket = tokens.issue_ticket(
            binding=tokens.request_binding(request, create=True),
            presets=presets,
            access_token=access_token,
            mode=mode,
            ttl=ttl,
            unique_filename=unique_filename,
        )
        return JsonResponse(
            {
                "mode": mode,
                "token": access_token,
                "process_url": process_url,
                "ticket": ticket.sign(),
                "presets": presets,
                "expires": ticket.expires,
                "finalize_url": reverse(f"{request.resolver_match.namespace}:finalize"),
            }
        )


@method_decorator([csrf_exempt, never_cache], name="dispatch")
class LocalProcessView(_Base):
    """The Processing API's ``/v3/remove-bg/`` served by the site's own engine (local mode only).

    CSRF-exempt like the real API: the single-use signed token is the credential.
    """

    def post(self, request: HttpRequest) -> JsonResponse:
        if current_mode() != "local":
            return error(_("Not Found"), 404)
        if (request.META.get("CONTENT_LENGTH") or "0").isdigit() and int(
            request.META.get("CONTENT_LENGTH") or 0
        ) > MAX_SOURCE_BYTES + 256 * 1024:
            return error(_("Image too large. The limit is 12 MB."), 413)
        try:
            token = tokens.read_local_token(request.POST.get("token"))
        except tokens.TicketError as exc:
            return error(str(exc), exc.status)
        upload = request.FILES.get("image")
        if upload is None:
            return error(_("Missing image. Send the image file in the 'image' form field."), 400)
        if upload.size > MAX_SOURCE_BYTES:
            return error(_("Image too large. The limit is 12 MB."), 413)
        data = upload.read()
        try:
            facts = check_upload(data)
        except ImageRefused as exc:
            return error(str(exc), exc.status)
        if in_worker():
            return self._queue(request, token, data, facts)
        try:
            with work_slot():
                return self._cut_here(request, token, data, facts)
        except Busy as busy:
            # Nothing counted, nothing spent: the same token works when the browser comes back.
            return error(
                _("The server is busy; try again in %(s)d seconds.") % {"s": busy.retry_after},
                503,
                Retry_After=str(busy.retry_after),
            )

    def _spend(self, request: HttpRequest, token: tokens.LocalToken, facts) -> JsonResponse | None:
        """Count the work and spend the token; an error response when either is refused."""
        hit = check_work(request, facts.width * facts.height / 1e6)
        if hit is not None:
            return error(
                _("Too many uploads; try again in %(s)d seconds.") % {"s": hit.retry_after},
                429,
                Retry_After=str(hit.retry_after),
            )
        # The token is spent from here on, whatever happens: a file that fails to decode or to
        # process does not give the attempt back, so one token cannot repeat costly work.
        if not tokens.use_nonce(token.nonce, token.expires, kind="local"):
            return error(_("Missing, invalid or expired access token."), 401)
        return None

    def _cut_here(self, request, token, data: bytes, facts) -> JsonResponse:
        """Cut in this request (no worker backend), inside one of the process's work slots."""
        refused = self._spend(request, token, facts)
        if refused is not None:
            return refused
        try:
            outputs = cut(data, token.presets)
        except ResultError as exc:
            if exc.status == 413:
                logger.warning("wagtail_bgcut: a direct upload ran out of memory while processing")
            return error(str(exc), exc.status)
        source_name = save_local_source(token.unique_filename, data, facts.format)
        names = save_local_outputs(token.unique_filename, source_name, outputs)
        return success(request, token.unique_filename, names["__source__"], names, token.presets)

    def _queue(self, request, token, data: bytes, facts) -> JsonResponse:
        """Store the original and queue the cut on the worker backend; 202 and a status URL."""
        refused = self._spend(request, token, facts)
        if refused is not None:
            return refused
        source_name = save_local_source(token.unique_filename, data, facts.format)
        try:
            job = enqueue_cut(
                binding=tokens.request_binding(request),
                unique_filename=token.unique_filename,
                presets=token.presets,
                source_name=source_name,
                expires=token.expires,
            )
        except Exception:
            # Nothing was processed: the stored original goes and the token is given back.
            logger.exception("wagtail_bgcut: could not queue a direct upload")
            delete_files([source_name])
            tokens.release_nonce(token.nonce, kind="local")
            return error(_("Uploads are unavailable right now; try again later."), 503)
        status_url = reverse(f"{request.resolver_match.namespace}:status")
        return JsonResponse(
            {
                "status": "processing",
                "unique_filename": token.unique_filename,
                "status_url": f"{status_url}?job={job.sign()}",
            },
            status=202,
            headers={"Retry-After": "1"},
        )


def success(request, unique_filename: str, source_name: str, names, presets) -> JsonResponse:
    """The Processing API's success answer for files the site's own engine stored."""

    def url(name: str) -> str:
        return request.build_absolute_uri(cutout_storage.url(name))

    return JsonResponse(
        {
            "status": "success",
            "unique_filename": unique_filename,
            "input_url": url(source_name),
            "output_urls": {p: url(names[p]) for p in presets},
        }
    )


@method_decorator(never_cache, name="dispatch")
class LocalStatusView(_Base):
    """``GET status/?job=...``: how a queued upload is doing, for the visitor who uploaded it.

    202 while it waits or runs, the Processing API's success answer when it is cut, a 4xx with
    the reason when it was refused. The signed job names the task result and who uploaded; no
    storage name, task detail or traceback is ever answered.
    """

    http_method_names = ["get"]

    def get(self, request: HttpRequest) -> JsonResponse:
        job = read_job(request.GET.get("job"))
        if job is None:
            return error(_("This upload status link is not valid."), 403)
        if not constant_time_compare(job.binding, tokens.request_binding(request)):
            return error(_("This upload was started by someone else."), 403)
        if job.expires <= time.time():
            return error(_("The upload took too long and expired; please upload again."), 410)
        try:
            result = job_result(job)
        except (TaskResultDoesNotExist, TaskResultMismatch):
            return error(_("No processed image was found for this upload."), 404)
        except Exception:
            # The task backend could not be asked (down, misconfigured): say so, never a 500.
            logger.exception("wagtail_bgcut: could not look up a direct upload's task result")
            return error(_("Uploads are unavailable right now; try again later."), 503)
        if result.status in (TaskResultStatus.READY, TaskResultStatus.RUNNING):
            return JsonResponse({"status": "processing"}, status=202, headers={"Retry-After": "1"})
        if result.status != TaskResultStatus.SUCCESSFUL:
            # The task raised: its traceback stays in the task backend, for the site's people.
            return error(_("The image could not be processed; please upload it again."), 503)
        value = result.return_value or {}
        if value.get("ok"):
            names = {**value["outputs"], "__source__": value["input"]}
            return success(request, job.unique_filename, value["input"], names, job.presets)
        if value.get("code") == "expired":
            return error(_("The upload took too long and expired; please upload again."), 410)
        if value.get("code") == "refused":
            return error(str(value.get("detail") or ""), int(value.get("status") or 400))
        return error(_("No processed image was found for this upload."), 404)


@method_decorator(never_cache, name="dispatch")
class FinalizeView(_Base):
    """Accept the result of a ticket this site issued; store it; run the handler."""

    def post(self, request: HttpRequest) -> JsonResponse:
        if not self.allowed(request):
            return error(_("You are not allowed to upload images here."), 403)
        try:
            data = _json_body(request)
            ticket = tokens.read_ticket(data.get("ticket"))
            tokens.check_binding(ticket, request, data.get("token"))
            if ticket.mode != current_mode():
                raise tokens.TicketError(_("The upload service changed; please upload again."), 409)
            output_urls = data.get("output_urls")
            if not isinstance(output_urls, dict) or set(ticket.presets) - set(output_urls):
                raise ResultError(_("The result lacks an output URL for every preset."))
            for value in (data.get("input_url"), *(output_urls[p] for p in ticket.presets)):
                if value is not None and (not isinstance(value, str) or len(value) > MAX_URL):
                    raise ResultError(_("Each URL in the result must be a string."))
            unique_filename = data.get("unique_filename")
            if not isinstance(unique_filename, str) or not 0 < len(unique_filename) <= 200:
                raise ResultError(_("The result has no unique_filename."))
            if ticket.mode == "local" and unique_filename != ticket.unique_filename:
                raise tokens.TicketError(_("This result does not belong to the upload ticket."))
        except (tokens.TicketError, ResultError) as exc:
            return error(str(exc), exc.status)
        if not tokens.use_nonce(ticket.nonce, ticket.expires):
            return error(_("This upload was already finalized."), 409)
        try:
            return self._finalize(request, ticket, data, unique_filename, output_urls)
        except ResultError as exc:
            # A result refused by a cheap check (a URL, a download, a mismatched output) gives the
            # ticket back for the genuine result; an image the door refuses, or a crash, does not,
            # so no retry can repeat that work.
            tokens.release_nonce(ticket.nonce)
            return error(str(exc), exc.status)
        except ImageRefused as exc:
            return error(str(exc), exc.status)

    def _finalize(self, request, ticket, data, unique_filename, output_urls) -> JsonResponse:
        backend = get_backend()
        cleanup: list[str] = []
        if ticket.mode == "api":
            source, outputs = download_api_result(
                backend.get_client(), ticket.presets, data.get("input_url"), output_urls
            )
        else:
            source, outputs, cleanup = load_local_result(ticket.unique_filename, ticket.presets)
        # Wagtail's own rules and the door's limits hold for what comes back from the API too: the
        # browser could have sent it anything the API accepts.
        facts = check_upload(source)
        width, height = facts.width, facts.height
        for preset, out in outputs.items():
            check_output(get_preset(preset), out, width, height)
            check_content(get_preset(preset), out, source)
        written: list[str] = []
        try:
            with transaction.atomic():
                upload = store_cutouts(source, outputs, backend, unique_filename)
                written = [c.file.name for c in upload.cutouts.values() if c.file]
                missing = [p for p, c in upload.cutouts.items() if not c.ready]
                if missing:
                    raise ResultError(_("The cut-outs could not be stored; please try again."), 503)
                extra = resolve_handler(self.handler)(request, upload) or {}
        except BaseException:
            delete_rolled_back(written)
            raise
        delete_files(cleanup)
        reference = signing.dumps(
            {"b": tokens.request_binding(request), "r": extra}, salt=REFERENCE_SALT
        )
        return JsonResponse(
            {
                "status": "success",
                "source_hash": upload.source_hash,
                "cutouts": {
                    p: {
                        "url": c.file.url,
                        "width": c.width,
                        "height": c.height,
                        "format": c.format,
                    }
                    for p, c in upload.cutouts.items()
                },
                "result": extra,
                "reference": reference,
            }
        )
