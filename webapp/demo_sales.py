"""The demo shop's sales (webapp.demo_data): orders, their lines and refunds.

Every order is priced by webapp.tax.price_order, as a real sale is: gross, discounts, tax
per rate and each line's share, so the demo's figures obey the same rules as the shop's.
What it holds: walk-in sales (no customer), three payment methods, line discounts
(fresh food reduced to clear in the evening: a percent; a damaged tin: an amount), order
discounts (loyalty and staff percent, a coupon amount), a few cancelled orders, and
refunds (whole or partial, some restocked) dated a later day, never after the limit.
No moment is after the limit: on its day (today) sales stop at now.
"""
import bisect
import itertools
from datetime import datetime, time, timedelta

from sqlalchemy import insert

from .models import Order, OrderLine, Refund, RefundLine
from .tax import Line, price_order, round_half_up

BATCH = 20_000  # orders per executemany; their lines and refunds go in the same round
# Opening hours with lunch and after-work peaks, and a few late evening sales.
HOURS = {7: 3, 8: 6, 9: 6, 10: 6, 11: 8, 12: 12, 13: 11, 14: 6, 15: 5, 16: 6, 17: 9, 18: 10,
         19: 6, 20: 3, 21: 1, 22: 0.5}
# Lines per order and quantities per line: value x weight (weights in percent).
LINES = {1: 30, 2: 30, 3: 20, 4: 12, 5: 8}
QUANTITIES = {1: 50, 2: 25, 3: 12, 4: 6, 5: 4, 6: 3}
PAYMENTS = {"card": 62, "cash": 30, "voucher": 8}
METHODS = tuple(PAYMENTS)
WALK_IN = 0.3          # share of sales with no customer recorded
CANCELLED = 0.006      # pending orders cancelled (not sales)
REFUNDED = 0.015       # sales with a refund
FRESH = {"Bakery", "Produce", "Deli"}  # reduced to clear from 17:00
CANCEL_REASONS = ("Customer left before paying", "Entered twice", "Card declined")
REFUND_REASONS = ("Damaged", "Past its date", "Wrong item", "Changed their mind",
                  "Charged twice")


class Clock:
    """Moments in opening hours, none after `limit` (today's sales stop at now)."""

    def __init__(self, limit):
        self.limit = limit
        self.hours = tuple(HOURS)
        self.cum = list(itertools.accumulate(HOURS.values()))
        self.whole = self.cum[-1]
        # The limit's day: each hour's share of the time before the limit. Before opening
        # time there is none: a moment, if one is needed, falls between midnight and now.
        seconds = limit.hour * 3600 + limit.minute * 60 + limit.second + 1
        spans = [(hour * 3600, min(3600, seconds - hour * 3600), weight)
                 for hour, weight in HOURS.items() if seconds > hour * 3600]
        self.last_share = sum(w * n / 3600 for _, n, w in spans) / sum(HOURS.values())
        self.last_spans = [(s, n) for s, n, _ in spans] or [(0, seconds)]
        self.last_cum = list(itertools.accumulate(w * n for _, n, w in spans)) or [1]

    def moment(self, rng, day):
        """A moment on `day` (None for a day after the limit's)."""
        if day < self.limit.date():  # bisect and random(): choices is slow for millions
            hour = self.hours[bisect.bisect_right(self.cum, rng.random() * self.whole)]
            second = int(rng.random() * 3600)
            return datetime.combine(day, time(hour, second // 60, second % 60))
        if day > self.limit.date():
            return None
        start, length = rng.choices(self.last_spans, cum_weights=self.last_cum)[0]
        return datetime.combine(day, time()) + timedelta(seconds=start + rng.randrange(length))


def write_sales(session, rng, products, customers, counts, start, clock, shop):
    """Write `counts[i]` orders on day start + i, with their lines and refunds; returns
    (lines, refunds). `shop`: prices_include_tax, currency, default_tax_rate_bp."""
    include_tax, currency = shop["prices_include_tax"], shop["currency"]
    # Regulars: a few customers place many orders (heavy-tailed weights). Customers are
    # sorted by created_at, so those who exist at time t are a prefix of the list.
    joined = [c["created_at"] for c in customers]
    cum_customers = list(itertools.accumulate(rng.paretovariate(1.5) for _ in customers))
    popularity = list(itertools.accumulate(rng.lognormvariate(0, 1) for _ in products))
    product_ids = [p["id"] for p in products]
    terms = {p["id"]: (p["price_cents"],
                       shop["default_tax_rate_bp"] if p["tax_rate_bp"] is None
                       else p["tax_rate_bp"],
                       p["cost_cents"], p["category"] in FRESH) for p in products}
    # Draws by random() from tables of 100 (percent weights) and by bisect: choices()
    # and randrange() were the slow part of millions of draws.
    sizes, quantities, payments = _table(LINES), _table(QUANTITIES), _table(PAYMENTS)
    popular, bisect_right = popularity[-1], bisect.bisect_right
    rand = rng.random
    priced_before = {}  # price_order's answers by its arguments
    rows = ([], [], [], [])  # orders, lines, refunds, refund lines
    order_rows, line_rows = rows[0], rows[1]
    order_id = line_id = 0
    ids = [0, 0]  # last refund id, last refund line id
    for offset, count in enumerate(counts):
        day = start + timedelta(days=offset)
        for created in sorted(clock.moment(rng, day) for _ in range(count)):
            order_id += 1
            customer_id = None
            if rand() >= WALK_IN:
                known = max(1, bisect.bisect_right(joined, created))
                customer = bisect.bisect_left(cum_customers, rand() * cum_customers[known - 1])
                customer_id = customers[customer]["id"]
            wanted = sizes[int(rand() * 100)]
            picked = []
            while len(picked) < wanted:
                product = product_ids[bisect_right(popularity, rand() * popular)]
                if product not in picked:
                    picked.append(product)
            evening = created.hour >= 17
            items, subtotal = [], 0
            for product in picked:
                price, rate, _, fresh = terms[product]
                quantity = quantities[int(rand() * 100)]
                value = quantity * price
                discount = 0
                if fresh and evening and rand() < 0.25:  # reduced to clear: 30 or 50 % off
                    discount = round_half_up(value * (30 if rand() < 0.5 else 50), 100)
                elif rand() < 0.02:  # a dented tin, a price match: an amount off
                    discount = min(value, (20, 50, 100)[int(rand() * 3)])
                items.append((quantity, price, rate, discount))
                subtotal += value - discount
            percent = amount = None
            pick = rand()
            if pick < 0.04:
                if customer_id is not None:  # the loyalty card's 10 %
                    percent = 1000
            elif pick < 0.05:  # staff discount
                percent = 2000
            elif pick < 0.065:  # a coupon, on a basket of at least twice its value
                amount = (100, 200, 500)[int(rand() * 3)]
                if 2 * amount > subtotal:
                    amount = None
            key = (*items, percent, amount)  # many baskets repeat (one coffee, one loaf)
            priced = priced_before.get(key)
            if priced is None:
                priced = priced_before[key] = price_order(
                    [Line(*item) for item in items], include_tax, percent, amount)
            cancelled = rand() < CANCELLED
            method = payments[int(rand() * 100)]
            order_rows.append({
                "id": order_id, "ref": f"D{order_id:06d}", "customer_id": customer_id,
                "created_at": created, "status": "cancelled" if cancelled else "imported",
                "status_reason": CANCEL_REASONS[int(rand() * 3)] if cancelled else "",
                "gross_cents": priced.gross_cents, "discount_cents": priced.discount_cents,
                "total_cents": priced.total_cents, "tax_cents": priced.tax_cents,
                "discount_percent_bp": percent, "discount_amount_cents": amount,
                "payment_method": method, "currency": currency,
                "prices_include_tax": include_tax})
            first = len(line_rows)
            for product, (quantity, price, rate, discount), share in zip(
                    picked, items, priced.lines):
                line_id += 1
                line_rows.append({
                    "id": line_id, "order_id": order_id, "product_id": product,
                    "quantity": quantity, "unit_price_cents": price, "tax_rate_bp": rate,
                    "unit_cost_cents": terms[product][2], "discount_cents": discount,
                    "net_cents": share.net_cents, "tax_cents": share.tax_cents})
            if not cancelled and rand() < REFUNDED:
                _refund(rng, clock, created, method, line_rows[first:], rows, ids)
            if len(order_rows) >= BATCH:
                _flush(session, rows)
                priced_before.clear()  # memory stays bounded
    _flush(session, rows)
    return line_id, ids[0]


def _table(weights):
    """{value: percent} as 100 values, each as often as its weight."""
    assert sum(weights.values()) == 100
    return [value for value, weight in weights.items() for _ in range(weight)]


def _refund(rng, clock, created, method, lines, rows, ids):
    """Maybe a refund of the sale (`lines`: its line rows), a later day up to the limit:
    the whole order, or part of one line (its share of net and tax, rounded half-up)."""
    when = clock.moment(rng, created.date() + timedelta(days=rng.randint(1, 10)))
    whole = rng.random() < 0.4
    restocked = rng.random() < 0.5
    reason = REFUND_REASONS[rng.randrange(len(REFUND_REASONS))]
    if whole:
        parts = [(line, line["quantity"]) for line in lines]
    else:
        line = lines[rng.randrange(len(lines))]
        parts = [(line, rng.randint(1, line["quantity"]))]
    refund_lines = []
    for line, quantity in parts:
        sold, cost = line["quantity"], line["unit_cost_cents"]
        refund_lines.append({
            "order_line_id": line["id"], "quantity": quantity,
            "tax_rate_bp": line["tax_rate_bp"],
            "net_cents": round_half_up(line["net_cents"] * quantity, sold),
            "tax_cents": round_half_up(line["tax_cents"] * quantity, sold),
            "cost_cents": None if cost is None else cost * quantity})
    net = sum(r["net_cents"] for r in refund_lines)
    tax = sum(r["tax_cents"] for r in refund_lines)
    if when is None or net + tax == 0:  # after the limit; or nothing was paid for it
        return
    ids[0] += 1
    rows[2].append({"id": ids[0], "order_id": lines[0]["order_id"], "created_at": when,
                    "reason": reason, "restocked": restocked, "payment_method": method,
                    "user_id": None, "amount_cents": net + tax, "net_cents": net,
                    "tax_cents": tax})
    for row in refund_lines:
        ids[1] += 1
        rows[3].append({"id": ids[1], "refund_id": ids[0], **row})


def _flush(session, rows):
    # Parents before children: PostgreSQL checks the foreign keys.
    for model, batch in zip((Order, OrderLine, Refund, RefundLine), rows):
        if batch:
            session.execute(insert(model.__table__), batch)
        batch.clear()
