"""A plain Django site's admin for its own model, with the cut-out previews."""

from django.contrib import admin

from tests.testapp.models import Product
from wagtail_bgcut.admin import CutoutPreviewAdminMixin


@admin.register(Product)
class ProductAdmin(CutoutPreviewAdminMixin, admin.ModelAdmin):
    fields = ["name", "photo"]
