"""Database models. Money is integer cents everywhere; times are naive local shop time.
Tax rates are basis points (hundredths of a percent): 20 % is 2000, 5.5 % is 550.

What a sale was stays as it was: an order line keeps the unit price, tax rate, unit cost
and discounts of the moment it was sold; editing a product or the shop's settings never
changes a recorded order (docs/figures.md).
"""
from datetime import date, datetime

from sqlalchemy import (BigInteger, Boolean, CheckConstraint, Date, DateTime, ForeignKey,
                        Index, Integer, LargeBinary, String, Text, UniqueConstraint)
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.sql.expression import false, true
from werkzeug.security import check_password_hash, generate_password_hash

from .extensions import db
from .i18n import say_stored
from .money import cents_to_str
from .validation import rate_text


def now():
    """The shop's wall clock (settings.timezone, else the computer's), naive, to the
    second. Also the column default of created_at/updated_at: inside a request, task or
    command it reads the settings (once per app context); outside one, the computer's."""
    from .settings import shop_now

    return shop_now()


class Product(db.Model):
    __tablename__ = "products"
    id: Mapped[int] = mapped_column(primary_key=True)
    sku: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(100), index=True)
    price_cents: Mapped[int] = mapped_column(Integer)
    stock: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=now, onupdate=now)
    cost_cents: Mapped[int | None] = mapped_column(Integer, nullable=True)  # unit cost
    tax_rate_bp: Mapped[int | None] = mapped_column(Integer, nullable=True)  # None: shop's
    reorder_at: Mapped[int | None] = mapped_column(Integer, nullable=True)  # low stock below
    # A product with orders is archived, not deleted: it leaves the lists and the order
    # form and stays in history and reports.
    archived: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Set when the low-stock email went out; cleared when stock is back above reorder_at,
    # so there is one email per crossing, not one per order.
    low_stock_alerted: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # The EAN/UPC printed on it (validation.OptionalBarcode); one product per barcode.
    barcode: Mapped[str | None] = mapped_column(String(13), unique=True, index=True,
                                                nullable=True)

    __table_args__ = (Index("ix_products_name", "name"),)

    def to_dict(self):
        return {
            "sku": self.sku,
            "name": self.name,
            "category": self.category,
            "price": cents_to_str(self.price_cents),
            "stock": self.stock,
            "cost": None if self.cost_cents is None else cents_to_str(self.cost_cents),
            # percent as text ("5.5"), None: the shop's default rate
            "tax_rate": None if self.tax_rate_bp is None else rate_text(self.tax_rate_bp),
            "reorder_at": self.reorder_at,
            "barcode": self.barcode,
            "archived": bool(self.archived),
            "updated_at": self.updated_at.isoformat(),
        }


class Customer(db.Model):
    __tablename__ = "customers"
    id: Mapped[int] = mapped_column(primary_key=True)
    # None: a customer known only by a till's id (an imported Square sale): till_id.
    email: Mapped[str | None] = mapped_column(String(254), unique=True, nullable=True)
    name: Mapped[str] = mapped_column(String(200))
    country: Mapped[str] = mapped_column(String(100), index=True)
    city: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=now, index=True)
    # The till's own customer id ("square:CUST123"), for customers imported from a till
    # export that names them by it (docs/importing.md).
    till_id: Mapped[str | None] = mapped_column(String(100), unique=True, index=True,
                                                nullable=True)

    def to_dict(self):
        return {
            "email": self.email,   # None: known only by the till's id
            "till_id": self.till_id,
            "name": self.name,
            "country": self.country,
            "city": self.city,
            "created_at": self.created_at.isoformat(),
        }


class Order(db.Model):
    __tablename__ = "orders"
    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[str] = mapped_column(String(64), unique=True)
    # None: a walk-in sale, no customer recorded.
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True,
                                                    nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=now)
    # pending -> processed | failed; pending or failed -> cancelled (not a sale);
    # imported history is "imported". Refunds are their own rows (Refund).
    status: Mapped[str] = mapped_column(String(20), default="pending")
    status_reason: Mapped[str] = mapped_column(String(300), default="")
    # The order's money, fixed when it is recorded (docs/figures.md):
    #   gross_cents - discount_cents = total_cents = sum(line net + line tax)
    # gross: before any discount, tax included; discount: line and order discounts
    # together; total: what the customer paid; tax: sum of the lines' tax.
    total_cents: Mapped[int] = mapped_column(Integer, default=0)
    gross_cents: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    discount_cents: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    tax_cents: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # The order discount as entered: a percent (basis points) or an amount, or neither.
    discount_percent_bp: Mapped[int | None] = mapped_column(Integer, nullable=True)
    discount_amount_cents: Mapped[int | None] = mapped_column(Integer, nullable=True)
    payment_method: Mapped[str] = mapped_column(String(40), default="", server_default="")
    # The shop's settings at the sale ("" and true for orders made before 0.3.0).
    currency: Mapped[str] = mapped_column(String(3), default="", server_default="")
    prices_include_tax: Mapped[bool] = mapped_column(Boolean, default=True,
                                                     server_default=true())

    customer: Mapped[Customer | None] = relationship(lazy="joined")
    lines: Mapped[list["OrderLine"]] = relationship(
        back_populates="order", cascade="all, delete-orphan", order_by="OrderLine.id"
    )
    # Read-only: a refund is written as its own row (webapp.refunds), never through this.
    refunds: Mapped[list["Refund"]] = relationship(order_by="Refund.id", viewonly=True)

    # Dashboards and reports filter by date and status and sum the money: a covering
    # index (migration 0004), so a year's report never reads the table itself.
    __table_args__ = (
        Index("ix_orders_figures", "created_at", "status", "total_cents", "gross_cents",
              "discount_cents", "payment_method", "customer_id"),
        # The orders list, newest first (migration 0010): no sort of equal times.
        Index("ix_orders_list", "created_at", "id"),
    )

    def to_dict(self):
        """The API's order: money as "12.34" strings, like `total` always was."""
        return {
            "id": self.id,
            "ref": self.ref,
            "customer_email": self.customer.email if self.customer else None,  # None: walk-in
            "created_at": self.created_at.isoformat(),
            "status": self.status,
            "status_reason": say_stored(self.status_reason),  # in the shop's language
            "total": cents_to_str(self.total_cents),
            "gross": cents_to_str(self.gross_cents),
            "discount": cents_to_str(self.discount_cents),
            "order_discount": (_rate(self.discount_percent_bp) + "%"
                               if self.discount_percent_bp is not None else
                               cents_to_str(self.discount_amount_cents)
                               if self.discount_amount_cents is not None else None),
            "tax": cents_to_str(self.tax_cents),
            "payment_method": self.payment_method,
            "currency": self.currency,
            "prices_include_tax": self.prices_include_tax,
            "lines": [
                {
                    "line_id": line.id,
                    "sku": line.product.sku,
                    "quantity": line.quantity,
                    "unit_price": cents_to_str(line.unit_price_cents),
                    "tax_rate": _rate(line.tax_rate_bp),
                    "discount": cents_to_str(line.discount_cents),
                    "net": cents_to_str(line.net_cents),
                    "tax": cents_to_str(line.tax_cents),
                }
                for line in self.lines
            ],
            "refunds": [refund.to_dict() for refund in self.refunds],
        }


def _rate(bp):
    """Basis points -> the percent as people write it: 2000 -> "20", 550 -> "5.5"."""
    whole, part = divmod(bp, 100)
    return f"{whole}.{part:02d}".rstrip("0").rstrip(".") if part else str(whole)


class OrderLine(db.Model):
    __tablename__ = "order_lines"
    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price_cents: Mapped[int] = mapped_column(Integer)
    # True at the sale (docs/figures.md): the tax rate, the unit cost (None: unknown), the
    # line's own discount as entered, and what the line came to after every discount
    # (its share of the order discount included): net + tax, tax rounded per order and
    # rate then shared out over the lines, so the lines add up to the order exactly.
    tax_rate_bp: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    unit_cost_cents: Mapped[int | None] = mapped_column(Integer, nullable=True)
    discount_cents: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    net_cents: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    tax_cents: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    order: Mapped[Order] = relationship(back_populates="lines")
    product: Mapped[Product] = relationship(lazy="joined")

    # Lines load by order; reports walk a date range's orders, then their lines: both
    # indexes cover the columns those queries read (migration 0004).
    __table_args__ = (
        Index("ix_order_lines_figures", "order_id", "product_id", "quantity",
              "unit_price_cents", "tax_rate_bp", "net_cents", "tax_cents", "unit_cost_cents"),
        Index("ix_order_lines_product", "product_id", "quantity", "unit_price_cents"),
    )


class Refund(db.Model):
    """Money given back for a whole order or some of its lines: its own dated record,
    counted on the day it happened. Nothing in the order itself changes."""

    __tablename__ = "refunds"
    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=now, index=True)
    reason: Mapped[str] = mapped_column(String(300), default="")
    restocked: Mapped[bool] = mapped_column(Boolean, default=False)  # stock put back
    payment_method: Mapped[str] = mapped_column(String(40), default="")  # paid back by
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    # Sums of the refund's lines: amount = net + tax.
    amount_cents: Mapped[int] = mapped_column(Integer, default=0)
    net_cents: Mapped[int] = mapped_column(Integer, default=0)
    tax_cents: Mapped[int] = mapped_column(Integer, default=0)

    order: Mapped[Order] = relationship()
    lines: Mapped[list["RefundLine"]] = relationship(
        back_populates="refund", cascade="all, delete-orphan", order_by="RefundLine.id")

    def to_dict(self):
        return {
            "id": self.id,
            "created_at": self.created_at.isoformat(),
            "reason": self.reason,
            "restocked": self.restocked,
            "payment_method": self.payment_method,
            "amount": cents_to_str(self.amount_cents),
            "net": cents_to_str(self.net_cents),
            "tax": cents_to_str(self.tax_cents),
            "lines": [{"line_id": line.order_line_id, "sku": line.order_line.product.sku,
                       "quantity": line.quantity, "tax_rate": _rate(line.tax_rate_bp),
                       "net": cents_to_str(line.net_cents), "tax": cents_to_str(line.tax_cents),
                       "cost": None if line.cost_cents is None else cents_to_str(line.cost_cents)}
                      for line in self.lines],
        }


class RefundLine(db.Model):
    __tablename__ = "refund_lines"
    id: Mapped[int] = mapped_column(primary_key=True)
    refund_id: Mapped[int] = mapped_column(ForeignKey("refunds.id", ondelete="CASCADE"),
                                           index=True)
    order_line_id: Mapped[int] = mapped_column(ForeignKey("order_lines.id"), index=True)
    quantity: Mapped[int] = mapped_column(Integer)
    tax_rate_bp: Mapped[int] = mapped_column(Integer, default=0)  # the sold line's
    net_cents: Mapped[int] = mapped_column(Integer, default=0)
    tax_cents: Mapped[int] = mapped_column(Integer, default=0)
    cost_cents: Mapped[int | None] = mapped_column(Integer, nullable=True)  # qty x unit cost

    refund: Mapped[Refund] = relationship(back_populates="lines")
    order_line: Mapped[OrderLine] = relationship()


class ZReport(db.Model):
    """A closed business day. Numbers run 1, 2, 3... without gaps; the stored files are
    what every later download returns, byte for byte (sha256 of the JSON kept)."""

    __tablename__ = "z_reports"
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[int] = mapped_column(Integer, unique=True)
    business_day: Mapped[date] = mapped_column(Date, unique=True)
    since: Mapped[datetime] = mapped_column(DateTime)  # the day's span: since <= t < until
    until: Mapped[datetime] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=now)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    json_body: Mapped[str] = mapped_column(Text)
    csv_body: Mapped[str] = mapped_column(Text, default="")
    pdf_body: Mapped[bytes] = mapped_column(LargeBinary, default=b"")
    sha256: Mapped[str] = mapped_column(String(64))


class Setting(db.Model):
    """The shop's settings (datasette's one typed table): value is JSON; the names, types
    and defaults live in webapp.settings."""

    __tablename__ = "settings"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=now, onupdate=now)


class User(db.Model):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    password_hash: Mapped[str] = mapped_column(String(256), default="")
    # owner | manager | staff: what each may do is webapp.permissions (migration 0006).
    role: Mapped[str] = mapped_column(String(20), default="staff")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=now)
    # Every staff session carries the generation it was signed in with; signing out,
    # disabling the account or resetting its password bumps it, so that cookie (and any
    # copy of it, on any device) stops working.
    session_generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # A disabled account cannot sign in; it stays, with its history (0006).
    disabled: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    __table_args__ = (
        CheckConstraint("role IN ('owner', 'manager', 'staff')", name="ck_users_role"),
    )

    def set_password(self, password):
        self.password_hash = generate_password_hash(password)

    def check_password(self, password):
        return bool(self.password_hash) and check_password_hash(self.password_hash, password)


class Activity(db.Model):
    """What a user did, shown on that user's own dashboard."""

    __tablename__ = "activities"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=now)
    text: Mapped[str] = mapped_column(Text)

    __table_args__ = (Index("ix_activities_user_time", "user_id", "created_at"),)


class IdempotencyKey(db.Model):
    """One recorded order per (user, key): `Idempotency-Key` of POST /api/orders, or the
    order form's one-time token ("form:..."). The unique constraint, not a lookup, is what
    makes two requests racing with the same key record one order (webapp.idempotency)."""

    __tablename__ = "idempotency_keys"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    key: Mapped[str] = mapped_column(String(200))
    fingerprint: Mapped[str] = mapped_column(String(64))  # sha256 of the request's content
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    response: Mapped[str] = mapped_column(Text, default="")  # the first answer's JSON body
    created_at: Mapped[datetime] = mapped_column(DateTime, default=now, index=True)

    order: Mapped[Order] = relationship()

    __table_args__ = (UniqueConstraint("user_id", "key", name="uq_idempotency_keys_user_key"),)


class Job(db.Model):
    """A user-visible background job (microblog's Task rows).

    The local broker forgets a message once fetched; this row is the durable record:
    a worker that starts finds jobs left queued or running and queues them again.
    `id` is also the Celery task id.
    """

    __tablename__ = "jobs"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    task_id: Mapped[str] = mapped_column(String(64), default="", index=True)  # Celery's
    kind: Mapped[str] = mapped_column(String(20))  # report | order | email | sync | cleanup
    title: Mapped[str] = mapped_column(String(200))
    params: Mapped[str] = mapped_column(Text, default="{}")  # JSON
    # Dedup key: an identical request while one is unfinished returns that job.
    dedup_key: Mapped[str] = mapped_column(String(200), default="")
    # The dedup_key while the job is unfinished, NULL once it ends: unique, so that two
    # processes making the same job at the same moment make one (jobs.submit).
    active_key: Mapped[str | None] = mapped_column(String(200), nullable=True)
    state: Mapped[str] = mapped_column(String(20), default="queued")  # queued|running|success|failure
    progress: Mapped[int] = mapped_column(Integer, default=0)
    message: Mapped[str] = mapped_column(String(300), default="")
    result: Mapped[str] = mapped_column(Text, default="")  # JSON
    error: Mapped[str] = mapped_column(Text, default="")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    worker: Mapped[str] = mapped_column(String(200), default="")  # node that claimed it
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=now)
    started_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)

    __table_args__ = (
        Index("ix_jobs_state", "state"),
        Index("ix_jobs_kind_created", "kind", "created_at"),
        Index("ix_jobs_dedup", "dedup_key", "state"),
        Index("ux_jobs_active_key", "active_key", unique=True),
    )

    @property
    def finished(self):
        return self.state in ("success", "failure")


class DailySales(db.Model):
    """Sales and refunds summed per business day, clock hour and payment method
    (webapp.daily_figures keeps them in the same transaction as every change; docs/
    figures.md). `next_date`: the hour is on the calendar day after `day` (before the
    day's start time). Refunds count at their own time, by the method they were paid
    back by (their own, else their order's)."""

    __tablename__ = "daily_sales"
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    hour: Mapped[int] = mapped_column(Integer, primary_key=True)
    next_date: Mapped[bool] = mapped_column(Boolean, primary_key=True)
    method: Mapped[str] = mapped_column(String(40), primary_key=True)
    orders: Mapped[int] = mapped_column(BigInteger, default=0)
    gross_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    discount_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    total_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    refunds: Mapped[int] = mapped_column(BigInteger, default=0)
    refunds_cents: Mapped[int] = mapped_column(BigInteger, default=0)


class DailyProductSales(db.Model):
    """Lines sold and refunded per business day, product and tax rate: what the reports'
    tax, margin and product sections and the dashboard's best sellers sum."""

    __tablename__ = "daily_product_sales"
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    product_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rate_bp: Mapped[int] = mapped_column(Integer, primary_key=True)
    lines: Mapped[int] = mapped_column(BigInteger, default=0)
    quantity: Mapped[int] = mapped_column(BigInteger, default=0)
    list_cents: Mapped[int] = mapped_column(BigInteger, default=0)  # quantity x unit price
    net_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    tax_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    cost_cents: Mapped[int] = mapped_column(BigInteger, default=0)  # lines with a cost
    net_known_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    quantity_known: Mapped[int] = mapped_column(BigInteger, default=0)
    lines_without_cost: Mapped[int] = mapped_column(BigInteger, default=0)
    refund_lines: Mapped[int] = mapped_column(BigInteger, default=0)
    refund_quantity: Mapped[int] = mapped_column(BigInteger, default=0)
    refund_net_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    refund_tax_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    refund_cost_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    refund_net_known_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    refund_quantity_known: Mapped[int] = mapped_column(BigInteger, default=0)


class DailyCountrySales(db.Model):
    """Sales and refunds per business day and the customer's country ("Walk-in (no
    customer)" without one): the reports' sales by country. A customer's new country
    or a merge moves their orders' rows (webapp.daily_figures)."""

    __tablename__ = "daily_country_sales"
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    country: Mapped[str] = mapped_column(String(100), primary_key=True)
    orders: Mapped[int] = mapped_column(BigInteger, default=0)
    total_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    refunds: Mapped[int] = mapped_column(BigInteger, default=0)
    refunds_cents: Mapped[int] = mapped_column(BigInteger, default=0)


class FiguresBasis(db.Model):
    """One row: the day start (HH:MM) the daily figures were summed with. When the
    setting in force differs, the figures are read from the orders until rebuilt."""

    __tablename__ = "figures_basis"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    day_starts_at: Mapped[str] = mapped_column(String(5))
