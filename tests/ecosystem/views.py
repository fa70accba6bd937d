"""A plain DRF endpoint for a plain Django model (``testapp.Product``), as a site would write it."""

from rest_framework import generics, serializers

from tests.testapp.models import Product
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
