"""Deterministic demo data: a small shop-and-café's catalogue, customers and order history.

The same (seed, end, orders, days) always gives the same rows (with `end` today, the
same up to now: no customer, order or refund is ever dated after now). Rows are built in
Python and written with Core executemany and explicit ids (the tables are empty or just
emptied), in batches so millions of orders do not sit in memory at once, all in one
transaction. The sales themselves (discounts, payments, refunds) are webapp.demo_sales.
"""
import json
import math
import random
from datetime import date, datetime, time, timedelta

from flask import g, has_app_context
from sqlalchemy import delete, exists, insert, select, text

from . import caching, daily_figures, models, settings
from .demo_sales import METHODS, Clock, write_sales
from .extensions import db
from .models import (Customer, Order, OrderLine, Product, Refund, RefundLine, Setting,
                     ZReport)

MAX_ORDERS = 5_000_000
MAX_DAYS = 36_500

# category: "name price; name price; ..." (prices in the shop's currency)
CATALOGUE = {
    "Bakery": "Sourdough Loaf 4.50; Baguette 1.90; Croissant 1.60; Pain au Chocolat 1.80; "
              "Rye Bread 3.90; Seeded Batch Loaf 3.20; Cinnamon Bun 2.40; Focaccia 3.60; "
              "Bagels (4) 2.80; Brioche 3.50; Scones (2) 2.60; Carrot Cake Slice 3.20",
    "Dairy": "Whole Milk 1L 1.20; Semi-Skimmed Milk 2L 1.85; Salted Butter 250g 2.40; "
             "Greek Yogurt 500g 2.60; Free-Range Eggs (6) 2.30; Free-Range Eggs (12) 4.20; "
             "Mature Cheddar 400g 4.50; Brie 200g 3.20; Double Cream 300ml 1.90; "
             "Mozzarella 125g 1.10; Goat Cheese 150g 2.95; Oat Milk 1L 1.95",
    "Produce": "Bananas (bunch) 1.20; Braeburn Apples 1kg 2.40; Lemons (3) 1.10; "
               "Avocados (2) 2.20; Vine Tomatoes 500g 2.10; Cucumber 0.75; Red Onions 1kg 1.10; "
               "Potatoes 2.5kg 2.20; Carrots 1kg 0.90; Baby Spinach 200g 1.80; Garlic 0.45; "
               "Strawberries 400g 3.00",
    "Pantry": "Extra Virgin Olive Oil 500ml 6.50; Basmati Rice 1kg 2.70; Spaghetti 500g 1.40; "
              "Chopped Tomatoes 400g 0.85; Chickpeas 400g 0.80; Plain Flour 1.5kg 1.30; "
              "Caster Sugar 1kg 1.40; Sea Salt 250g 1.90; Black Peppercorns 2.60; "
              "Wildflower Honey 340g 3.80; Peanut Butter 340g 2.90; Strawberry Jam 340g 2.20",
    "Beverages": "Ground Coffee 227g 4.80; Coffee Beans 1kg 14.50; Breakfast Tea (80) 3.20; "
                 "Green Tea (40) 2.40; Orange Juice 1L 2.10; Apple Juice 1L 1.90; "
                 "Sparkling Water 6x500ml 3.00; Still Water 1.5L 0.65; Cola 330ml 0.95; "
                 "Ginger Beer 330ml 1.20; Craft Lager 440ml 2.80; House Red Wine 75cl 8.90",
    "Deli": "Smoked Ham 120g 3.20; Salami Milano 100g 2.90; Prosciutto 80g 3.80; "
            "Hummus 200g 1.60; Green Olives 200g 2.40; Sun-dried Tomatoes 2.70; "
            "Chicken Caesar Wrap 3.90; Falafel Box 4.20; Quiche Lorraine Slice 3.40; "
            "Pasta Salad 250g 2.80; Pork Pie 1.90; Coleslaw 300g 1.50",
    "Frozen": "Garden Peas 1kg 1.60; Vanilla Ice Cream 1L 3.50; Margherita Pizza 3.00; "
              "Fish Fingers (10) 2.80; Oven Chips 1.5kg 2.20; Mixed Berries 500g 3.40; "
              "Spinach Portions 1.30; King Prawns 300g 5.50; Beef Lasagne 4.50; "
              "Veggie Burgers (4) 3.20; Chicken Nuggets 2.90; Lemon Sorbet 500ml 3.10",
    "Household": "Washing-up Liquid 1.40; Kitchen Roll (2) 2.50; Toilet Roll (9) 4.80; "
                 "Bin Bags (20) 2.20; Laundry Liquid 1.5L 6.00; Sponges (5) 1.20; "
                 "Aluminium Foil 1.90; Cling Film 1.70; Dishwasher Tablets (30) 5.50; "
                 "Hand Soap 1.60; Surface Spray 2.10; Tea Lights (6) 3.00",
    "Snacks": "Sea Salt Crisps 1.10; Dark Chocolate 100g 1.90; Salted Peanuts 0.99; "
              "Oat Biscuits 1.50; Flapjack 1.40; Granola Bar 0.90; Tortilla Chips 1.60; "
              "Popcorn 1.20; Shortbread 2.60; Rice Cakes 1.10; Trail Mix 2.80; "
              "Jelly Sweets 1.00",
    "Café": "Flat White 3.10; Cappuccino 3.00; Espresso 2.20; Latte 3.20; Hot Chocolate 3.30; "
            "Soup of the Day 4.50; Toasted Sandwich 5.90; Breakfast Roll 4.80; "
            "Avocado Toast 7.50; Croque Monsieur 6.90; Fresh Orange Juice 3.20; Smoothie 4.20",
}

FIRST = ("Olivia Amelia Isla Ava Mia Ivy Lily Isabella Rosie Sophia Grace Freya Emily Ella "
         "Poppy Chloe Noah Oliver George Arthur Leo Muhammad Harry Oscar Archie Henry "
         "Theodore Jack Charlie Finn Thomas James William Samuel Aisha Priya Mateo Lucas "
         "Chen Sofia Maya Hugo Liam Zara Ruby Daniel").split()
LAST = ("Smith Jones Taylor Brown Williams Wilson Johnson Davies Patel Wright Robinson Wood "
        "Thompson Evans Walker White Roberts Green Hall Thomas Clarke Jackson Lewis Hill "
        "Harris Young Martin Khan Morris Cooper Ward Turner Murphy Kelly Dubois Müller "
        "García Rossi Novak Okafor Nguyen Byrne Hughes Price").split()
DOMAINS = ("example.com", "example.org", "example.net", "mail.example.com", "post.example.org")
# country: (weight, cities); the home country dominates
COUNTRIES = {
    "United Kingdom": (80, "London Manchester Bristol Leeds Brighton Oxford Cambridge York "
                           "Bath Norwich".split()),
    "Ireland": (6, ["Dublin", "Cork", "Galway"]),
    "France": (4, ["Paris", "Lyon", "Lille"]),
    "Germany": (3, ["Berlin", "Hamburg", "Munich"]),
    "Netherlands": (3, ["Amsterdam", "Utrecht"]),
    "Spain": (2, ["Madrid", "Barcelona"]),
    "United States": (2, ["New York", "Boston", "Chicago"]),
}
WEEKDAY = (0.80, 0.85, 0.90, 1.00, 1.25, 1.45, 0.90)  # Monday first; Saturday is busiest
# Tax per category (basis points): fresh produce 0 %, food 5.5 %, the café and alcohol
# 20 %; household goods use the shop's default rate (None).
TAX_RATES = {"Produce": 0, "Bakery": 550, "Dairy": 550, "Pantry": 550, "Beverages": 550,
             "Deli": 550, "Frozen": 550, "Snacks": 550, "Café": 2000, "Household": None}
STANDARD_RATE_ITEMS = {"Craft Lager 440ml", "House Red Wine 75cl"}
WITHOUT_COST = 0.1  # share of products whose cost price is unknown


class DemoError(Exception):
    pass


def _check(orders, days, end, seed):
    if isinstance(orders, bool) or not isinstance(orders, int):
        raise DemoError(f"orders must be a whole number, not {orders!r}")
    if not 0 <= orders <= MAX_ORDERS:
        raise DemoError(f"orders must be between 0 and {MAX_ORDERS:,}, not {orders:,}")
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_DAYS:
        raise DemoError(f"days must be a whole number between 1 and {MAX_DAYS:,}, "
                        f"not {days!r}")
    if end is not None and not isinstance(end, date):
        raise DemoError(f"end must be a date, not {end!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, str)):
        raise DemoError(f"seed must be a whole number or text, not {seed!r}")


def _products(rng, shop):
    rows = []
    for category, items in CATALOGUE.items():
        prefix = category[:3].upper()
        for number, item in enumerate(items.split("; "), 1):
            name, price = item.rsplit(" ", 1)
            # +-10% around the list price, rounded to 5 cents: seeds give different shops
            cents = max(5, round(float(price) * 100 * rng.uniform(0.9, 1.1) / 5) * 5)
            rate = 2000 if name in STANDARD_RATE_ITEMS else TAX_RATES[category]
            stock = rng.randint(0, 500)
            reorder_at = rng.choice((None, 10, 20, 30, 50))
            rows.append({"id": len(rows) + 1, "sku": f"{prefix}-{number:03d}", "name": name,
                         "category": category, "price_cents": cents, "stock": stock,
                         "tax_rate_bp": rate, "reorder_at": reorder_at, "archived": False,
                         "cost_cents": _cost(rng, cents, category, rate, shop),
                         # already low: alerted when it crossed, in the shop's past
                         "low_stock_alerted": reorder_at is not None and stock <= reorder_at})
    for i in rng.sample(range(len(rows)), round(len(rows) * WITHOUT_COST)):
        rows[i]["cost_cents"] = None
    return rows


def _cost(rng, cents, category, rate, shop):
    """A unit cost before tax: what the shop pays, a share of its price before tax (the
    café makes its own: a smaller share)."""
    if rate is None:
        rate = shop["default_tax_rate_bp"]
    net = cents * 10_000 / (10_000 + rate) if shop["prices_include_tax"] else cents
    low, high = (0.25, 0.4) if category == "Café" else (0.45, 0.75)
    return max(1, round(net * rng.uniform(low, high)))


def _customers(rng, count, start, end, clock):
    countries = list(COUNTRIES)
    country_weights = [COUNTRIES[c][0] for c in countries]
    span = (end - start).days + 1
    rows, emails = [], set()
    for i in range(count):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        local = f"{first}.{last}".lower().replace("ü", "u").replace("í", "i")
        email = f"{local}@{rng.choice(DOMAINS)}"
        number = 2
        while email in emails:  # a second Olivia Smith gets olivia.smith2@...
            email = f"{local}{number}@{email.split('@')[1]}"
            number += 1
        emails.add(email)
        country = rng.choices(countries, country_weights)[0]
        # About a third were customers before the period starts; the first one always.
        if i == 0 or rng.random() < 0.3:
            day = start - timedelta(days=rng.randint(1, 365))
        else:
            day = start + timedelta(days=rng.randrange(span))
        rows.append({"email": email, "name": f"{first} {last}", "country": country,
                     "city": rng.choice(COUNTRIES[country][1]),
                     "created_at": clock.moment(rng, day)})
    rows.sort(key=lambda row: (row["created_at"], row["email"]))
    for number, row in enumerate(rows, 1):
        row["id"] = number
    return rows


def _orders_per_day(rng, orders, start, days, last_share):
    """Split `orders` over the days by weekly, seasonal and growth weights; the last day
    gets `last_share` of its weight (today: only the hours before now)."""
    weights = []
    for i in range(days):
        day = start + timedelta(days=i)
        season = 1 + 0.18 * math.cos(2 * math.pi * (day.timetuple().tm_yday - 350) / 365.25)
        closed = 0.05 if (day.month, day.day) in ((12, 25), (1, 1)) else 1.0
        growth = 0.8 + 0.4 * i / days
        weights.append(WEEKDAY[day.weekday()] * season * closed * growth
                       * rng.uniform(0.85, 1.15))
    weights[-1] *= last_share
    total = sum(weights)
    if total == 0:  # one day, before opening time
        weights[-1] = total = 1
    shares = [orders * w / total for w in weights]
    counts = [int(s) for s in shares]
    # Largest remainders get the leftover orders, so the sum is exact.
    by_remainder = sorted(range(days), key=lambda i: (counts[i] - shares[i], i))
    for i in by_remainder[:orders - sum(counts)]:
        counts[i] += 1
    if orders and counts[-1] == 0:  # keep "today" on the dashboard from being empty
        counts[counts.index(max(counts))] -= 1
        counts[-1] += 1
    return counts


def load_demo(orders=20000, seed=42, end=None, days=730, replace=False):
    """Fill the database with demo data; returns counts of products, customers, orders,
    lines, refunds. Refuses a database holding data unless `replace` (users are always
    kept). `end`: the last day (default today; a datetime: nothing after that moment);
    never after today, and nothing is dated after now."""
    _check(orders, days, end, seed)
    stamp = models.now()
    if isinstance(end, datetime):
        last = end.replace(microsecond=0)
    else:
        last = datetime.combine(end or stamp.date(), time(23, 59, 59))
    if last.date() > stamp.date():
        raise DemoError(f"end must not be after today ({stamp.date()}), not {last.date()}")
    end = last.date()
    start = end - timedelta(days=days - 1)
    session = db.session
    has_data = any(session.execute(select(exists().select_from(model.__table__))).scalar()
                   for model in (Product, Customer, Order, ZReport))
    if has_data and not replace:
        raise DemoError("the database already holds data; use --replace to overwrite it")
    shop = {name: settings.get(name)
            for name in ("prices_include_tax", "currency", "default_tax_rate_bp")}
    clock = Clock(min(stamp, last))
    rng = random.Random(seed)
    products = _products(rng, shop)
    customers = _customers(rng, max(50, orders // 8), start, end, clock)
    counts = _orders_per_day(rng, orders, start, days, clock.last_share)
    try:
        if has_data:  # children first: the foreign keys
            for model in (RefundLine, Refund, ZReport, OrderLine, Order, Customer, Product):
                session.execute(delete(model.__table__))
        for row in products:
            row["updated_at"] = stamp
        session.execute(insert(Product.__table__), products)
        session.execute(insert(Customer.__table__), customers)
        lines, refunds = write_sales(session, rng, products, customers, counts, start, clock,
                                     shop)
        _offer_methods(session, stamp)
        if session.get_bind().dialect.name == "postgresql":
            _advance_sequences(session)
        daily_figures.rebuild()  # bulk rows, written past the session's hook
        session.commit()
    except BaseException:
        session.rollback()
        raise
    caching.clear_all()
    return {"products": len(products), "customers": len(customers), "orders": orders,
            "lines": lines, "refunds": refunds}


def _offer_methods(session, stamp):
    """The demo's payment methods join the shop's list, so the order form offers them."""
    methods = settings.get("payment_methods")
    missing = [method for method in METHODS if method not in methods]
    if not missing:
        return
    table = Setting.__table__
    session.execute(delete(table).where(table.c.key == "payment_methods"))
    session.execute(insert(table), {"key": "payment_methods", "updated_at": stamp,
                                    "value": json.dumps(methods + missing)})
    if has_app_context():
        g.pop("larder_settings", None)  # the copy read once per context is stale now


def _advance_sequences(session):
    """Explicit ids leave PostgreSQL's sequences behind; move them past the new rows."""
    for model in (Product, Customer, Order, OrderLine, Refund, RefundLine):
        table = model.__table__.name
        session.execute(text(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
            f"COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)"))
