"""A page type using the integrations the way a site's own page would."""

from django.db import models
from wagtail import blocks
from wagtail.api import APIField
from wagtail.fields import StreamField
from wagtail.images.api.fields import ImageRenditionField
from wagtail.models import Page

from wagtail_bgcut.blocks import CutoutImageBlock
from wagtail_bgcut.serializers import BgcutRenditionField, CutoutField


class ShowcasePage(Page):
    photo = models.ForeignKey(
        "wagtailimages.Image", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    body = StreamField(
        [("cutout", CutoutImageBlock(preset="full")), ("text", blocks.CharBlock())], blank=True
    )

    api_fields = [
        APIField("body"),
        APIField("photo_cutout", serializer=CutoutField("full", source="photo")),
        APIField(
            "photo_card", serializer=BgcutRenditionField("bgcut-full|fill-60x40", source="photo")
        ),
        # Wagtail's own field with the same spec: what it answers while a cut-out is pending.
        APIField(
            "photo_wagtail", serializer=ImageRenditionField("bgcut-full|fill-60x40", source="photo")
        ),
    ]
