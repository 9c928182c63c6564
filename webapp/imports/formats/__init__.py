"""One module per export format. Each has NAME, LABEL (what the preview calls it),
recognise(header) -> bool (by column names, never positions) and
records(table, context) -> iterator of records (records.py) and Problems, where `table`
is a reading.Table (its .header, and its rows when iterated) and `context` a
common.Context (the shop's locale, time zone, tax rates).

    fmt = detect(table.header)      # a module, or None
    for item in fmt.records(table, Context.from_settings()): ...
"""
from . import (larder_customers, larder_orders, larder_products, loyverse_receipts,
               shopify_orders, shopify_products, square_items, sumup_sales)
from ...i18n import N_
from ..records import Reason
from .common import Context, made_up_sku

__all__ = ["Context", "made_up_sku", "FORMATS", "detect", "by_name", "unrecognised"]

# Most specific first: a till's header never matches Larder's few lower-case names.
FORMATS = (shopify_orders, shopify_products, square_items, sumup_sales, loyverse_receipts,
           larder_orders, larder_customers, larder_products)
BY_NAME = {fmt.NAME: fmt for fmt in FORMATS}


def detect(header):
    """The format whose columns this header has, or None."""
    for fmt in FORMATS:
        if fmt.recognise(header):
            return fmt
    return None


def by_name(name):
    """A format by NAME (`--format`); KeyError lists the names."""
    try:
        return BY_NAME[name]
    except KeyError:
        raise KeyError(Reason(N_("unknown format %(name)r; expected one of %(names)s"),
                              name=name, names=", ".join(BY_NAME))) from None


def unrecognised(header):
    """The reason a header matched no format, for `line 1: header: ...`."""
    from .loyverse_receipts import is_summary

    if is_summary(header):
        return Reason(N_("this is Loyverse's receipts summary (one row per receipt, no "
                         "items); export 'Receipts by item' instead"))
    from .larder import near_miss

    reason = near_miss(header)
    if reason:
        return reason
    shown = ", ".join(header[:6]) + (", ..." if len(header) > 6 else "")
    return Reason(N_("not a file Larder knows (columns: %(columns)s); expected a Shopify, "
                     "Square, SumUp or Loyverse export, or Larder's products, customers or "
                     "orders columns"), columns=shown)
