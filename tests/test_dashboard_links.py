"""Every dashboard figure opens the orders behind it: the link carries the period's
business days (and hour) with status=sales, and the orders list it opens counts the
same number of orders. The month chart has axes, values, hover titles, a table version.
Over real HTTP (Waitress), with the business day starting at 02:00."""
import json
import re
from datetime import datetime, timedelta
from html import unescape
from urllib.parse import parse_qs, urlsplit

import pytest

from conftest import http_session
from webapp import settings
from webapp.extensions import db
from webapp.models import Order, Setting

START = timedelta(hours=2)


@pytest.fixture
def busy(app):
    with app.app_context():
        db.session.add(Setting(key="day_starts_at", value=json.dumps("02:00")))
        db.session.commit()
        today = settings.today_business_day()
        opens = datetime.combine(today, datetime.min.time()) + START
        moments = [(opens, "processed"), (opens + timedelta(hours=5, minutes=3), "imported"),
                   (opens + timedelta(hours=5, minutes=59), "pending"),
                   (opens + timedelta(days=1) - timedelta(seconds=1), "processed"),  # 01:59:59
                   (opens + timedelta(hours=5, minutes=10), "cancelled"),  # not a sale
                   (opens + timedelta(hours=5, minutes=20), "failed"),     # not a sale
                   (opens - timedelta(seconds=1), "processed"),            # yesterday
                   (opens - timedelta(days=7), "processed"),               # last week
                   (opens.replace(day=1), "imported"),
                   (opens.replace(month=1, day=1), "imported"),
                   (opens.replace(year=opens.year - 1, month=1, day=1), "imported")]
        for i, (when, status) in enumerate(moments):
            db.session.add(Order(ref=f"DL{i:02d}", created_at=when, status=status,
                                 total_cents=1000 + i, gross_cents=1000 + i,
                                 payment_method="card"))
        db.session.commit()
    app.today = today
    return app


def link_of(html, marker):
    href = re.search(rf'<a href="([^"]+)"[^>]*{marker}', html).group(1)
    return unescape(href)


def count_behind(http, href):
    page = http.get(http.base + href)
    assert page.status_code == 200, page.text
    return int(re.search(r'id="orders-count">([\d,]+) order', page.text).group(1).replace(",", ""))


def query(href):
    return {k: v[0] for k, v in parse_qs(urlsplit(href).query).items()}


def test_each_figure_opens_its_orders(busy):
    today = busy.today.isoformat()
    month_start = busy.today.replace(day=1).isoformat()
    year_start = busy.today.replace(month=1, day=1).isoformat()
    with http_session(busy) as http:
        board = http.get(http.base + "/").text
        for name, first in (("today", today), ("month", month_start), ("year", year_start)):
            href = link_of(board, f'data-figure="{name}-orders"')
            assert query(href) == {"status": "sales", "from": first, "to": today}, name
            shown = int(re.search(rf'data-figure="{name}-orders">([\d,]+) order',
                                  board).group(1).replace(",", ""))
            assert count_behind(http, href) == shown, name
            assert link_of(board, f'data-figure="{name}-revenue"') == href
        assert re.search(r'data-figure="today-orders">4 orders', board)  # edges, no fails
        # last week's same day, from the comparisons
        then = link_of(board, 'data-then="today"')
        week_ago = (busy.today - timedelta(days=7)).isoformat()
        assert query(then) == {"status": "sales", "from": week_ago, "to": week_ago}
        assert count_behind(http, then) == 1
        # sales by hour: 07:00 holds two sales (the cancelled and failed ones are not)
        seven = link_of(board, 'data-hour="7"')
        assert query(seven) == {"status": "sales", "from": today, "to": today, "hour": "7"}
        assert count_behind(http, seven) == 2
        one = link_of(board, 'data-hour="1"')  # 01:59:59, the business day's last second
        assert count_behind(http, one) == 1
        assert http.get(http.base + "/").headers.get("X-Cache") == "HIT"


def test_the_chart_has_axes_values_hover_and_a_table(busy):
    with http_session(busy) as http:
        board = http.get(http.base + "/").text
    chart = board[board.index('<figure class="chart"'):board.index("</figure>")]
    assert '<line class="axis"' in chart and '<text class="tick"' in chart and "€0" in chart
    month = busy.today.replace(day=1)
    name = month.strftime("%B %Y")
    assert re.search(rf"<title>{name}: €[\d,.]+, [\d,]+ orders</title>", chart)
    assert '<text class="value"' in chart
    assert "<summary>Revenue by month as a table</summary>" in chart
    href = link_of(chart, f'data-month="{name}"')
    assert query(href)["from"] == month.isoformat() and query(href)["status"] == "sales"
    assert '<th scope="row"><a href=' in chart
