from django.apps import AppConfig


class EcosystemConfig(AppConfig):
    """A page type that uses the integrations as a site would (its own app and migrations)."""

    name = "tests.ecosystem"
    label = "bgcut_ecosystem"
    default_auto_field = "django.db.models.BigAutoField"
