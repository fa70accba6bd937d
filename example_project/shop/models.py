"""The example shop: products whose photos are shown with their backgrounds removed."""

from django.db import models
from wagtail.admin.panels import FieldPanel
from wagtail.models import Page
from wagtail.snippets.models import register_snippet


@register_snippet
class Product(models.Model):
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    photo = models.ForeignKey("wagtailimages.Image", on_delete=models.PROTECT, related_name="+")

    panels = [FieldPanel("name"), FieldPanel("description"), FieldPanel("photo")]

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class HomePage(Page):
    intro = models.TextField(blank=True)

    content_panels = [*Page.content_panels, FieldPanel("intro")]

    def get_context(self, request, *args, **kwargs):
        context = super().get_context(request, *args, **kwargs)
        from wagtail_bgcut import prefetch_cutouts

        products = list(Product.objects.select_related("photo"))
        # Two queries for the whole listing, whatever its length: cut-outs and renditions.
        prefetch_cutouts([p.photo for p in products], ["thumbnail"])
        context["products"] = products
        context["engine"] = _engine_label()
        return context


def _engine_label() -> str:
    """Which engine makes the cut-outs on this page, in words."""
    from wagtail_bgcut.backends import get_backend

    backend = get_backend()
    label = getattr(backend, "engine_label", "")
    return f"{backend.name} engine: {label}" if label else f"{backend.name} engine"
