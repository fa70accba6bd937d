"""The "Remove background" page of an image and its actions.

GET shows the original and the cut-out; every state change is a POST (CSRF-checked by Django's
middleware). Work goes through the pipeline: ``request_cutouts`` queues it, so with a worker task
backend the request returns at once and the page polls :class:`CutoutStatusView`; with the
in-process ImmediateBackend the work has run by the time the redirect is followed.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpResponseRedirect, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from wagtail.admin import messages

from .. import budget
from ..backends.base import get_backend
from ..models import Cutout
from ..presets import all_presets, get_preset, preset_help, preset_labels
from ..tasks import enqueue_retry, request_cutouts, request_redo, requested_by
from .access import ForbiddenIsForbidden, can, can_add_to_collection, get_image_for
from .base import (
    ImageAdminPage,
    chosen_preset,
    cutout_state,
    find_cutout,
    json_error,
    uncuttable,
)
from .files import (
    RestoreError,
    last_replacement,
    replace_file,
    restore_original,
    save_as_new_image,
)

# Session key: "Remove background" was asked for [image pk, preset]; the page tells the outcome.
STARTED_KEY = "wagtail_bgcut_started"


def page_url(image: Any, preset: str) -> str:
    url = reverse("wagtail_bgcut:remove_background", args=[image.pk])
    return f"{url}?{urlencode({'preset': preset})}"


class RemoveBackgroundView(ForbiddenIsForbidden, ImageAdminPage):
    template_name = "wagtail_bgcut/admin/remove_background.html"
    page_title = gettext_lazy("Remove background")

    def get(self, request, image_id: int):
        self.image = get_image_for(request.user, image_id, ["change"])
        started = request.session.pop(STARTED_KEY, None)
        if started and started[0] == self.image.pk:
            tell_outcome(request, self.image, chosen_preset(started[1]))
        return super().get(request, image_id=image_id)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        image = self.image
        preset = chosen_preset(self.request.GET.get("preset"))
        cutout = find_cutout(image, preset)
        state = cutout_state(cutout)
        context.update(
            image=image,
            preset=preset,
            presets=list(all_presets()),
            cutout=cutout,
            state=state,
            working=state["status"] in (Cutout.Status.PENDING, Cutout.Status.PROCESSING),
            refused=uncuttable(image),
            can_save_new=can_add_to_collection(self.request.user, image.collection),
            can_replace=can(self.request.user, "change", image),
            replacement=last_replacement(image),
            preset_labels=preset_labels(),
            preset_label=preset_labels().get(preset, preset),
            preset_help=preset_help(preset),
            status_url=reverse("wagtail_bgcut:cutout_status", args=[image.pk])
            + "?"
            + urlencode({"preset": preset}),
            aicut_url=reverse("wagtail_bgcut:aicut", args=[image.pk]),
        )
        return context


class ReplaceConfirmPage(ImageAdminPage):
    template_name = "wagtail_bgcut/admin/replace_confirm.html"
    page_title = gettext_lazy("Replace file")

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        preset, cutout = kwargs["preset"], kwargs["cutout"]
        context.update(
            image=self.image,
            preset=preset,
            preset_label=preset_labels().get(preset, preset),
            cutout=cutout,
            back_url=page_url(self.image, preset),
        )
        return context


class ImageActionView(ForbiddenIsForbidden, View):
    """Base for the POST actions on one image; ``actions`` are the permissions needed."""

    http_method_names = ["post"]
    actions: tuple[str, ...] = ("change",)

    def post(self, request, image_id: int):
        image = get_image_for(request.user, image_id, self.actions)
        preset = chosen_preset(request.POST.get("preset"))
        return self.act(request, image, preset)

    def act(self, request, image: Any, preset: str):
        raise NotImplementedError

    def back(self, image: Any, preset: str) -> HttpResponseRedirect:
        return redirect(page_url(image, preset))

    def ready_cutout(self, request, image: Any, preset: str) -> tuple[Cutout, bytes] | None:
        """The finished cut-out and its bytes; None, with a message for the editor, if not ready."""
        cutout = find_cutout(image, preset)
        if cutout is None or not cutout.ready:
            messages.error(request, _("The cut-out is not ready yet."))
            return None
        with cutout.file.open("rb") as fh:
            return cutout, fh.read()


class StartView(ImageActionView):
    """Ask for the cut-out (a failed one is retried); answers JSON to scripts, else redirects."""

    def act(self, request, image: Any, preset: str):
        cutout = find_cutout(image, preset)
        refused = "" if cutout is not None and cutout.ready else over_budget(request, preset)
        if refused:
            if _wants_json(request):
                return json_error(refused, 402)
            messages.error(request, refused)
            return self.back(image, preset)
        try:
            if cutout is not None and cutout.status == Cutout.Status.FAILED:
                enqueue_retry([cutout.pk], request.user)
            else:
                request_cutouts(image, [preset], requested_by=request.user)
        except OSError:
            message = _("The original file could not be read.")
            if _wants_json(request):
                return json_error(message, 409)
            messages.error(request, message)
            return self.back(image, preset)
        if _wants_json(request):
            return JsonResponse({"preset": preset, **cutout_state(find_cutout(image, preset))})
        # The page the redirect lands on says what really happened: with an in-process task
        # backend the work has run by then (it runs once this request commits).
        request.session[STARTED_KEY] = [image.pk, preset]
        return self.back(image, preset)


def over_budget(request, preset: str) -> str:
    """Why the editor's (or the site's) cap cannot pay for this preset now; "" if it can.

    Asked before queueing, so the editor hears at once; the worker's own check still decides
    when the call is made (the editor may have spent more meanwhile).
    """
    try:
        budget.check(get_backend().estimate_credits([get_preset(preset)]), user=request.user)
    except budget.BudgetExceeded as exc:
        return str(exc)
    return ""


def tell_outcome(request, image: Any, preset: str) -> None:
    """The message after "Remove background": done (with any warning), failed, or still working."""
    cutout = find_cutout(image, preset)
    label = preset_labels().get(preset, preset)
    if cutout is not None and cutout.ready:
        if cutout.suspicious:
            messages.warning(request, cutout.suspicious_message)
        else:
            messages.success(request, _("Background removed (%(preset)s).") % {"preset": label})
    elif cutout is not None and cutout.status == Cutout.Status.FAILED:
        messages.error(
            request, _("Removing the background failed: %(reason)s") % {"reason": cutout.error}
        )
    else:
        messages.info(
            request,
            _("The background is being removed (%(preset)s); this page updates when it is done.")
            % {"preset": label},
        )


class CutoutStatusView(ForbiddenIsForbidden, View):
    """JSON state of one image's cut-out for a preset, polled by the page while it is made."""

    http_method_names = ["get"]

    def get(self, request, image_id: int):
        image = get_image_for(request.user, image_id, ["change"])
        preset = chosen_preset(request.GET.get("preset"))
        return JsonResponse({"preset": preset, **cutout_state(find_cutout(image, preset))})


class SaveAsNewView(ImageActionView):
    actions = ("change", "add")

    def act(self, request, image: Any, preset: str):
        ready = self.ready_cutout(request, image, preset)
        if ready is None:
            return self.back(image, preset)
        cutout, data = ready
        with requested_by(request.user):  # AUTO_PROCESS of the new image is this editor's
            new = save_as_new_image(image, data, cutout.format, request.user)
        messages.success(
            request,
            _("Image '%(title)s' created.") % {"title": new.title},
            buttons=[messages.button(reverse("wagtailimages:edit", args=[new.pk]), _("Edit"))],
        )
        return redirect(reverse("wagtailimages:edit", args=[new.pk]))


class FinishedCutoutConfirmView(ForbiddenIsForbidden, View):
    """GET: a confirmation page about an image's finished cut-out, or back with a message."""

    http_method_names = ["get"]
    #: Collection permissions the action needs; the page class; the message when nothing is ready.
    actions: Any = ("change",)
    page: Any = None
    not_ready_message: Any = ""

    def get(self, request, image_id: int):
        image = get_image_for(request.user, image_id, list(self.actions))
        preset = chosen_preset(request.GET.get("preset"))
        cutout = find_cutout(image, preset)
        if cutout is None or not cutout.ready:
            messages.error(request, self.not_ready_message)
            return redirect(page_url(image, preset))
        return self.page.as_view(image=image)(
            request, image_id=image_id, preset=preset, cutout=cutout
        )


class ReplaceConfirmView(FinishedCutoutConfirmView):
    """What "Replace file" changes, what is kept, any warning; the form POSTs to replace."""

    page = ReplaceConfirmPage
    not_ready_message = gettext_lazy("The cut-out is not ready yet.")

    @property
    def actions(self) -> Any:  # ReplaceFileView is defined below
        return ReplaceFileView.actions


class ReplaceFileView(ImageActionView):
    def act(self, request, image: Any, preset: str):
        ready = self.ready_cutout(request, image, preset)
        if ready is None:
            return self.back(image, preset)
        cutout, data = ready
        with requested_by(request.user):  # AUTO_PROCESS of the new file is this editor's
            replace_file(image, data, cutout.format, request.user, preset)
        messages.success(
            request,
            _(
                "The image's file was replaced by its cut-out: every page using it now shows "
                "the cut-out. The original is kept and can be restored."
            ),
            buttons=[messages.button(reverse("wagtailimages:edit", args=[image.pk]), _("Edit"))],
        )
        return self.back(image, preset)


class RedoConfirmPage(ImageAdminPage):
    template_name = "wagtail_bgcut/admin/redo_confirm.html"
    page_title = gettext_lazy("Redo the cut-out")

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        preset, cutout = kwargs["preset"], kwargs["cutout"]
        backend = get_backend()
        context.update(
            image=self.image,
            preset=preset,
            preset_label=preset_labels().get(preset, preset),
            cutout=cutout,
            credits=backend.estimate_credits([get_preset(preset)]),
            spends_credits=backend.spends_credits,
            back_url=page_url(self.image, preset),
        )
        return context


class RedoConfirmView(FinishedCutoutConfirmView):
    """What redoing costs, and that the current cut-out stays in use meanwhile."""

    page = RedoConfirmPage
    not_ready_message = gettext_lazy("There is no finished cut-out to redo.")


class RedoView(ImageActionView):
    """Make a finished cut-out again (a new paid call); the page then tells the outcome."""

    def act(self, request, image: Any, preset: str):
        cutout = find_cutout(image, preset)
        refused = over_budget(request, preset) if cutout is not None and cutout.ready else ""
        if refused:
            messages.error(request, refused)
            return self.back(image, preset)
        if cutout is None or not request_redo([cutout.pk], requested_by=request.user):
            messages.error(request, _("There is no finished cut-out to redo."))
            return self.back(image, preset)
        request.session[STARTED_KEY] = [image.pk, preset]
        return self.back(image, preset)


class RestoreOriginalView(ImageActionView):
    def act(self, request, image: Any, preset: str):
        try:
            restore_original(image, request.user)
        except RestoreError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(
                request,
                _("The original file was restored; its cut-outs are kept and need no new credits."),
            )
        return self.back(image, preset)


def _wants_json(request) -> bool:
    return "application/json" in request.headers.get("Accept", "")
