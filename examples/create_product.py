"""Create a product, with bigin-async.

Bigin's call is ``POST /bigin/v2/Products``. ``Product_Name`` is mandatory and unique, so a second run
reports the existing product instead of failing.

    python examples/create_product.py
"""

from __future__ import annotations

from typing import Any

from _common import Saved, create_unless_exists, run_example, saved_report

from bigin_async import BiginClient

PRODUCT: dict[str, Any] = {
    "Product_Name": "Professional Website Package",
    "Product_Code": "WEB-PRO-001",
    "Unit_Price": 5000,
    "Description": "Complete professional website with up to 10 pages",
    "Product_Category": "Web Services",
    "Product_Active": True,
    "Taxable": True,
    # Not a standard Bigin field (Bigin's taxes are the "Tax" picklist); sent as written, like any
    # custom field.
    "Tax_Percentage": 8.5,
}


async def main(bigin: BiginClient) -> Saved:
    """Create the website package (or find it by name)."""
    return await create_unless_exists(bigin.products, PRODUCT)


if __name__ == "__main__":
    run_example(main, saved_report("Product"))
