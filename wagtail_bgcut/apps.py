from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WagtailBgcutConfig(AppConfig):
    name = "wagtail_bgcut"
    label = "wagtail_bgcut"
    verbose_name = _("Background removal")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Imports live here so that importing the package never touches models or settings.
        from . import checks  # noqa: F401  (registers the system checks)
        from .signals import register_signal_handlers

        register_signal_handlers()
