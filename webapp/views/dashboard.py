"""The dashboard: cached per user (callable key_prefix), so no one sees another's page.

Every figure links to the orders behind it: the orders list with the same business days
and `status=sales` (what the figures count; webapp/views/order_filters.py)."""
from calendar import monthrange
from datetime import date
from decimal import Decimal

from babel.dates import format_date
from babel.numbers import format_compact_currency
from flask import Blueprint, g, render_template, url_for

from .. import settings, stats
from ..caching import dashboard_key, only_ok
from ..extensions import cache, db
from ..models import Activity

bp = Blueprint("dashboard", __name__)

# The revenue chart's drawing area, in SVG units (the page scales it to its width).
LEFT, TOP, HEIGHT, BAR_STEP, BAR_WIDTH = 64, 14, 140, 44, 30


def orders_url(first, last, **extra):
    """The orders list over business days first..last (dates or ISO text), sales only."""
    return url_for("orders.index", status="sales", **{"from": str(first), "to": str(last)},
                   **extra)


def _step(top):
    """A round tick step (1, 2 or 5 x a power of ten) giving about four ticks up to top."""
    rough = Decimal(max(top, 1)) / 4
    power = Decimal(10) ** (len(str(int(rough))) - 1)
    for factor in (1, 2, 5, 10):
        if power * factor >= rough:
            return int(power * factor)
    return int(power * 10)


def revenue_chart(rows):
    """What the month chart draws: bars with their height, label, value and link; the
    y axis' ticks (money, compact: "€25k") and the SVG size. Empty rows: None."""
    if not rows:
        return None
    currency, locale = settings.get("currency"), settings.get("locale")
    top = max(max(r["revenue_cents"] for r in rows), 0)
    step = _step(top)
    ceiling = step * max(1, -(-top // step))  # top rounded up to a whole step
    bars = []
    for i, row in enumerate(rows):
        year, month = (int(part) for part in row["month"].split("-"))
        first = date(year, month, 1)
        last = first.replace(day=monthrange(year, month)[1])
        value = max(row["revenue_cents"], 0)
        height = round(value * HEIGHT / ceiling, 1)
        bars.append({
            "x": LEFT + i * BAR_STEP + (BAR_STEP - BAR_WIDTH) / 2, "y": TOP + HEIGHT - height,
            "height": height, "centre": LEFT + i * BAR_STEP + BAR_STEP / 2,
            "label": format_date(first, "MMM", locale=locale),
            "year": year if (i == 0 or month == 1) else None,
            "name": format_date(first, "MMMM y", locale=locale),
            "short": format_compact_currency(Decimal(value) / 100, currency, locale=locale),
            "revenue_cents": row["revenue_cents"], "orders": row["orders"],
            "url": orders_url(first, last)})
    ticks = [{"y": TOP + HEIGHT - round(v * HEIGHT / ceiling, 1),
              "label": format_compact_currency(Decimal(v) / 100, currency, locale=locale)}
             for v in range(0, ceiling + 1, step)]
    return {"bars": bars, "ticks": ticks, "width": LEFT + len(rows) * BAR_STEP + 8,
            "height": TOP + HEIGHT + 34, "axis_y": TOP + HEIGHT, "left": LEFT}


@bp.get("/")
@cache.cached(key_prefix=lambda: dashboard_key(), response_filter=only_ok)
def index():
    activity = db.session.execute(
        db.select(Activity).filter_by(user_id=g.user_id)
        .order_by(Activity.created_at.desc(), Activity.id.desc()).limit(10)
    ).scalars().all()
    board = stats.dashboard()
    return render_template("dashboard.html", s=board, activity=activity,
                           totals=stats.summary(), chart=revenue_chart(board["by_month"]),
                           periods={c["name"]: c for c in board["comparisons"]},
                           orders_url=orders_url, cached_page=True)
