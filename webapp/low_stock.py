"""Low-stock alerts: a product crossing below its `reorder_at` puts one email in the
outbox per crossing, re-armed when its stock goes back above it."""


def after_stock_change(product_ids):
    """Call after committing a change to these products' stock (orders processed,
    refunds restocked, edits, imports)."""
    return None
