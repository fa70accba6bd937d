from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WagtailBgcutConfig(AppConfig):
    name = "wagtail_bgcut"
    label = "wagtail_bgcut"
    verbose_name = _("Background removal")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Imported here, not at module top: these modules import models, which Django allows only
        # once the app registry is ready (importing the package itself must stay free of models).
        from . import checks  # noqa: F401  (registers the system checks)
        from .signal_handlers import register_signal_handlers

        register_signal_handlers()
