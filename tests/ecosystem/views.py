"""A plain DRF endpoint for a plain Django model (``testapp.Product``), as a site would write it."""

from rest_framework import generics, serializers

from tests.testapp.models import Product
from wagtail_bgcut.cutouts import prefetch_cutouts
from wagtail_bgcut.serializers import CutoutField


class ProductSerializer(serializers.ModelSerializer):
    cutout = CutoutField("full", source="photo")
    thumbnail = CutoutField("thumbnail", source="photo")

    class Meta:
        model = Product
        fields = ["id", "name", "cutout", "thumbnail"]


class ProductDetail(generics.RetrieveAPIView):
    queryset = Product.objects.all()
    serializer_class = ProductSerializer
    permission_classes = []
    authentication_classes = []


class ProductList(generics.ListAPIView):
    """A listing whose cut-outs cost one query in all (docs/headless.md)."""

    queryset = Product.objects.order_by("pk")
    serializer_class = ProductSerializer
    permission_classes = []
    authentication_classes = []

    def filter_queryset(self, queryset):
        products = list(super().filter_queryset(queryset))
        prefetch_cutouts([product.photo for product in products], ["full", "thumbnail"])
        return products
