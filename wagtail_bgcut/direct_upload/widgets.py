"""A form widget and field for direct uploads.

The widget renders a file input the JavaScript module drives; the file itself never travels with
the form. After finalize, the hidden input holds a signed ``reference`` (the handler's result,
bound to the user or session), which ``DirectUploadField`` verifies and returns as a dict.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from django import forms
from django.core import signing
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from .tokens import request_binding
from .views import REFERENCE_SALT

DEFAULT_NAMESPACE = "wagtail_bgcut_direct_upload"


class DirectUploadWidget(forms.Widget):
    template_name = "wagtail_bgcut/direct_upload/widget.html"

    def __init__(
        self,
        presets: Sequence[str] = ("full",),
        *,
        namespace: str = DEFAULT_NAMESPACE,
        attrs: dict[str, Any] | None = None,
    ):
        super().__init__(attrs)
        self.presets = list(presets)
        self.namespace = namespace

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict[str, Any]:
        context = super().get_context(name, value, attrs)
        context["widget"]["token_url"] = reverse(f"{self.namespace}:token")
        context["widget"]["presets_json"] = json.dumps(self.presets)
        return context


class DirectUploadField(forms.Field):
    """Cleans to the handler's dict (e.g. ``{"image_id": 3}``) of a finalized upload."""

    default_error_messages = {
        "invalid": _("The upload could not be verified; please upload the image again."),
    }

    def __init__(self, *, presets: Sequence[str] = ("full",), max_age: int = 3600, **kwargs: Any):
        self.max_age = max_age
        kwargs.setdefault("widget", DirectUploadWidget(presets))
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> dict[str, Any] | None:
        if not value:
            return None
        try:
            data = signing.loads(value, salt=REFERENCE_SALT, max_age=self.max_age)
        except signing.BadSignature:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid") from None
        return data

    def bound_to(self, value: dict[str, Any] | None, request) -> dict[str, Any] | None:
        """The handler's result if ``value`` was finalized by this request's user/session."""
        if not value or value.get("b") != request_binding(request):
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return value.get("r")
