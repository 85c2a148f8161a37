"""Products: the catalogue."""

from __future__ import annotations

from typing import ClassVar

from bigin_async.models import Product
from bigin_async.resources.base import ModuleClient
from bigin_async.resources.photos import RecordPhotos

__all__ = ["ProductsClient"]


class ProductsClient(RecordPhotos, ModuleClient[Product]):
    """Products: the catalogue."""

    module_api_name: ClassVar[str] = "Products"
