"""Models used only by the tests."""

from django.db import models
from wagtail.images.models import AbstractImage, Image

from wagtail_bgcut.fields import BackgroundRemovedImageField


class Product(models.Model):
    """A plain Django model with a photo and its cut-out, filled by the pipeline."""

    name = models.CharField(max_length=100, blank=True)
    photo = models.ImageField(upload_to="products", blank=True)
    cutout = BackgroundRemovedImageField(source="photo", preset="full", blank=True)
    thumb = BackgroundRemovedImageField(source="photo", preset="thumbnail", blank=True)

    def __str__(self) -> str:
        return self.name or f"product {self.pk}"


class CustomImage(AbstractImage):
    """A second, custom Wagtail image model: its saves must trigger AUTO_PROCESS too."""

    caption = models.CharField(max_length=255, blank=True)
    admin_form_fields = (*Image.admin_form_fields, "caption")
