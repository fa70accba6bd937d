"""The AI Cut editor: dots in, mask out.

Each request carries ALL dots placed so far and a ``request_number`` (the browser ignores replies
older than the newest it applied). The backend's AI Cut session is started once per Django session
and image file: ``ai_cut_start`` may cost an upload (BackgroundCut), refinements are free.

Where the session handle lives:
- a handle that is a plain dataclass (BackgroundCut's ``AICutSession``: a provider file name and a
  scale) is kept in the Django session, so any web process can continue it;
- other handles (the local engine keeps the decoded image) live in a small per-process LRU cache;
  a process that misses it starts again, which the local engine does for free.

With a paid engine (page 04), the provider's ``request_number`` is the server's, never the
browser's: a counter per provider session in Django's cache (``cache.incr``, atomic on a shared
cache), starting at 1 and increased by exactly one per segment call, whatever the browser does
(reloads, Save, several tabs). The browser's number is only echoed back, for its own ordering. A
session the provider has forgotten (404, page 04: "Sessions expire") is started again once, after
the budget guard agrees, and the answer tells the editor that this cost a credit.
"""

from __future__ import annotations

import base64
import dataclasses
import io
import threading
from collections import OrderedDict
from typing import Any

from django.core.cache import cache
from django.http import JsonResponse
from django.urls import reverse
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from PIL import Image as PILImage
from wagtail.admin import messages

from .. import budget
from ..backends.base import BaseBackend, get_backend
from ..exceptions import NotFound
from ..forms import InvalidDots, parse_dots
from ..pipeline.run import describe_error
from ..tasks import requested_by
from .access import ForbiddenIsForbidden, can_add_to_collection, get_image_for
from .base import ImageAdminPage, json_error, uncuttable
from .files import save_as_new_image

SESSION_KEY = "wagtail_bgcut_aicut"
NUMBER_KEY = "wagtail_bgcut:aicut:request_number:"
NUMBER_TTL = 24 * 3600  # longer than any provider session lives
OVERLAY_MAX_SIDE = 800
_CACHE_SIZE = 4  # local handles hold a decoded image: keep few
_RESULTS_PER_SESSION = 8

_handles: OrderedDict[str, dict[str, Any]] = OrderedDict()
_handles_lock = threading.Lock()


def _cache_get(key: str) -> dict[str, Any] | None:
    with _handles_lock:
        entry = _handles.get(key)
        if entry is not None:
            _handles.move_to_end(key)
        return entry


def _cache_put(key: str, entry: dict[str, Any]) -> None:
    with _handles_lock:
        _handles[key] = entry
        _handles.move_to_end(key)
        while len(_handles) > _CACHE_SIZE:
            _handles.popitem(last=False)


def _read_image(image: Any) -> bytes:
    with image.file.storage.open(image.file.name, "rb") as fh:
        return fh.read()


def _serialise(handle: Any) -> dict[str, Any] | None:
    if dataclasses.is_dataclass(handle) and not isinstance(handle, type):
        cls = type(handle)
        return {
            "class": f"{cls.__module__}.{cls.__qualname__}",
            "fields": dataclasses.asdict(handle),
        }
    return None


def _deserialise(data: Any) -> Any:
    try:
        return import_string(data["class"])(**data["fields"])
    except (ImportError, KeyError, TypeError):
        return None


class AICutSession:
    """The backend handle for (Django session, image file, engine), started at most once."""

    def __init__(self, request, image: Any, backend: BaseBackend):
        self.request = request
        self.image = image
        self.backend = backend
        if not request.session.session_key:
            request.session.save()
        self.key = f"{image.pk}:{image.file.name}:{backend.engine_id}"
        self.cache_key = f"{request.session.session_key}:{self.key}"

    def _stored(self) -> Any:
        saved = self.request.session.get(SESSION_KEY, {}).get(self.key)
        return _deserialise(saved) if saved else None

    def handle(self, green, red) -> Any:
        entry = _cache_get(self.cache_key)
        if entry is not None:
            previous = entry["dots"]
            extends = (
                green[: len(previous[0])] == previous[0] and red[: len(previous[1])] == previous[1]
            )
            if extends or self.backend.spends_credits:
                entry["dots"] = (list(green), list(red))
                return entry["handle"]
        handle = self._stored()
        if handle is None:
            # A free engine refines from its last mask, so an undo starts it afresh; a paid one
            # is stateless per request (every dot is sent) and is only ever started once.
            handle = self.backend.ai_cut_start(_read_image(self.image))
            saved = _serialise(handle)
            if saved is not None:
                sessions = dict(self.request.session.get(SESSION_KEY, {}))
                sessions[self.key] = saved
                self.request.session[SESSION_KEY] = sessions
        old = _cache_get(self.cache_key) or {}
        _cache_put(
            self.cache_key,
            {
                "handle": handle,
                "dots": (list(green), list(red)),
                "results": old.get("results", OrderedDict()),
            },
        )
        return handle

    # -- paid engines: the provider session and its request_number live on the server ------------
    @property
    def paid(self) -> bool:
        return bool(self.backend.spends_credits)

    def _start_paid(self) -> Any:
        """Start (or restart) the provider session, behind the budget guard."""
        credits = float(getattr(self.backend, "ai_cut_credits", 0.0))
        spend = budget.reserve(credits, kind="ai_cut_initialize", user=self.request.user)
        try:
            handle = self.backend.ai_cut_start(_read_image(self.image))
        except BaseException as error:
            budget.settle(spend, error)
            raise
        saved = _serialise(handle)
        if saved is not None:
            sessions = dict(self.request.session.get(SESSION_KEY, {}))
            sessions[self.key] = saved
            self.request.session[SESSION_KEY] = sessions
            self.request.session.save()  # now: a parallel request must see this session
        return handle

    @staticmethod
    def next_number(handle: Any) -> int:
        """1, 2, 3... per provider session, atomically, whichever process or tab asks."""
        key = NUMBER_KEY + str(getattr(handle, "unique_filename", id(handle)))
        cache.add(key, 0, timeout=NUMBER_TTL)
        try:
            return int(cache.incr(key))
        except ValueError:  # evicted between add and incr: start again from 1
            cache.add(key, 1, timeout=NUMBER_TTL)
            return 1

    def _segment_paid(self, green, red) -> tuple[bytes, str | None]:
        handle = self._stored()
        if handle is None:
            handle = self._start_paid()
        try:
            return self.backend.ai_cut_segment(handle, green, red, self.next_number(handle)), None
        except NotFound:
            pass  # the provider forgot the session (it expired): start a new one, once
        handle = self._start_paid()
        credits = float(getattr(self.backend, "ai_cut_credits", 0.0))
        notice = _(
            "The AI Cut session had expired, so a new one was started. That cost %(credits)g "
            "credit(s)."
        ) % {"credits": credits}
        return self.backend.ai_cut_segment(handle, green, red, self.next_number(handle)), notice

    def segment(self, green, red, request_number: int) -> tuple[bytes, str | None]:
        """The cut-out PNG for these dots and a notice for the editor (or None); a dot set seen
        before (an undo, or Save after the last refinement) gives the same answer for free."""
        dots_key = repr((list(green), list(red)))
        entry = _cache_get(self.cache_key)
        if entry is not None and dots_key in entry.get("results", {}):
            entry["dots"] = (list(green), list(red))
            return entry["results"][dots_key], None
        notice = None
        if self.paid:
            png, notice = self._segment_paid(green, red)
        else:
            handle = self.handle(green, red)
            png = self.backend.ai_cut_segment(handle, green, red, request_number)
        entry = _cache_get(self.cache_key)
        if entry is None:
            entry = {"handle": None, "dots": (list(green), list(red)), "results": OrderedDict()}
            _cache_put(self.cache_key, entry)
        results = entry.setdefault("results", OrderedDict())
        results[dots_key] = png
        while len(results) > _RESULTS_PER_SESSION:
            results.popitem(last=False)
        return png, notice


def overlay_for(png: bytes) -> tuple[str, float]:
    """A display-sized mask overlay (subject clear, background shaded) and the subject's share."""
    with PILImage.open(io.BytesIO(png)) as result:
        result.load()
        alpha = result.getchannel("A") if "A" in result.getbands() else result.convert("L")
    alpha.thumbnail((OVERLAY_MAX_SIDE, OVERLAY_MAX_SIDE))
    histogram = alpha.point(lambda v: 255 if v >= 128 else 0).histogram()
    total = alpha.width * alpha.height or 1
    coverage = histogram[255] / total
    # Shade what is removed (dark) and tint what is kept (green), as editors know from AI Cut.
    shade = alpha.point(lambda v: int((255 - v) * 0.55))
    tint = alpha.point(lambda v: int(v * 0.2))
    overlay = PILImage.new("RGBA", alpha.size, (20, 20, 20, 0))
    overlay.putalpha(shade)
    green = PILImage.new("RGBA", alpha.size, (0, 200, 80, 0))
    green.putalpha(tint)
    overlay = PILImage.alpha_composite(overlay, green)
    buf = io.BytesIO()
    overlay.save(buf, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode(), coverage


def mask_for(png: bytes) -> str:
    """The display-sized mask (white kept, black removed) as a PNG data URL, for the editor's
    adjustable outline-and-tint overlay and its checkerboard preview of the cut-out."""
    with PILImage.open(io.BytesIO(png)) as result:
        result.load()
        alpha = result.getchannel("A") if "A" in result.getbands() else result.convert("L")
    alpha.thumbnail((OVERLAY_MAX_SIDE, OVERLAY_MAX_SIDE))
    buf = io.BytesIO()
    alpha.save(buf, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


class AICutView(ForbiddenIsForbidden, ImageAdminPage):
    template_name = "wagtail_bgcut/admin/aicut.html"
    page_title = gettext_lazy("AI Cut")

    def get(self, request, image_id: int):
        self.image = get_image_for(request.user, image_id, ["change"])
        return super().get(request, image_id=image_id)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context.update(
            image=self.image,
            segment_url=reverse("wagtail_bgcut:aicut_segment", args=[self.image.pk]),
            save_url=reverse("wagtail_bgcut:aicut_save", args=[self.image.pk]),
            can_save_new=can_add_to_collection(self.request.user, self.image.collection),
            back_url=reverse("wagtail_bgcut:remove_background", args=[self.image.pk]),
            refused=uncuttable(self.image),
        )
        return context


def _segment(request, image: Any) -> tuple[bytes | None, JsonResponse | None, int, str | None]:
    png, error, number, notice = None, None, 0, None
    refused = uncuttable(image)
    if refused:
        return None, json_error(refused, 422), 0, None
    try:
        dots = parse_dots(request.body, image.width, image.height)
    except InvalidDots as exc:
        return None, json_error(str(exc)), 0, None
    if not dots.green:
        return None, json_error(_("Add at least one green dot.")), dots.request_number, None
    number = dots.request_number
    backend = get_backend()
    try:
        png, notice = AICutSession(request, image, backend).segment(dots.green, dots.red, number)
    except budget.BudgetExceeded as exc:
        error = json_error(str(exc), 402)
    except NotImplementedError:
        error = json_error(_("This engine does not offer AI Cut."), 501)
    except OSError:
        error = json_error(_("The original file could not be read."), 409)
    except Exception as exc:
        error = json_error(describe_error(exc), 502)
    return png, error, number, notice


class SegmentView(ForbiddenIsForbidden, View):
    """POST all dots, get the mask overlay for them (JSON)."""

    http_method_names = ["post"]

    def post(self, request, image_id: int):
        image = get_image_for(request.user, image_id, ["change"])
        png, error, number, notice = _segment(request, image)
        if error is not None:
            return error
        overlay, coverage = overlay_for(png)
        answer = {
            "request_number": number,
            "overlay": overlay,
            "mask": mask_for(png),
            "coverage": round(coverage, 4),
        }
        if notice:
            answer["notice"] = notice
        return JsonResponse(answer)


class SaveView(ForbiddenIsForbidden, View):
    """POST all dots; the cut-out they give is saved as a new image (same collection)."""

    http_method_names = ["post"]

    def post(self, request, image_id: int):
        image = get_image_for(request.user, image_id, ["change", "add"])
        png, error, _number, notice = _segment(request, image)
        if error is not None:
            return error
        with requested_by(request.user):  # AUTO_PROCESS of the new image is this editor's
            new = save_as_new_image(image, png, "png", request.user)
        edit_url = reverse("wagtailimages:edit", args=[new.pk])
        if notice:
            messages.warning(request, notice)
        messages.success(request, _("Image '%(title)s' created.") % {"title": new.title})
        return JsonResponse({"id": new.pk, "title": new.title, "edit_url": edit_url})
