"""Database models. Money is integer cents everywhere; times are naive local shop time."""
from datetime import datetime

from sqlalchemy import (DateTime, ForeignKey, Index, Integer, String, Text,
                        UniqueConstraint)
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from .extensions import db
from .money import cents_to_str


def now():
    return datetime.now().replace(microsecond=0)


class Product(db.Model):
    __tablename__ = "products"
    id: Mapped[int] = mapped_column(primary_key=True)
    sku: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(100), index=True)
    price_cents: Mapped[int] = mapped_column(Integer)
    stock: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=now, onupdate=now)

    __table_args__ = (Index("ix_products_name", "name"),)

    def to_dict(self):
        return {
            "sku": self.sku,
            "name": self.name,
            "category": self.category,
            "price": cents_to_str(self.price_cents),
            "stock": self.stock,
            "updated_at": self.updated_at.isoformat(),
        }


class Customer(db.Model):
    __tablename__ = "customers"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    country: Mapped[str] = mapped_column(String(100), index=True)
    city: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=now, index=True)

    def to_dict(self):
        return {
            "email": self.email,
            "name": self.name,
            "country": self.country,
            "city": self.city,
            "created_at": self.created_at.isoformat(),
        }


class Order(db.Model):
    __tablename__ = "orders"
    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[str] = mapped_column(String(64), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=now)
    # pending -> processed | failed (imported history is "imported")
    status: Mapped[str] = mapped_column(String(20), default="pending")
    status_reason: Mapped[str] = mapped_column(String(300), default="")
    total_cents: Mapped[int] = mapped_column(Integer, default=0)

    customer: Mapped[Customer] = relationship(lazy="joined")
    lines: Mapped[list["OrderLine"]] = relationship(
        back_populates="order", cascade="all, delete-orphan", order_by="OrderLine.id"
    )

    # Dashboards and reports filter by date and status and sum totals: a covering index.
    __table_args__ = (
        Index("ix_orders_created_status_total", "created_at", "status", "total_cents"),
    )

    def to_dict(self):
        return {
            "id": self.id,
            "ref": self.ref,
            "customer_email": self.customer.email,
            "created_at": self.created_at.isoformat(),
            "status": self.status,
            "status_reason": self.status_reason,
            "total": cents_to_str(self.total_cents),
            "lines": [
                {
                    "sku": line.product.sku,
                    "quantity": line.quantity,
                    "unit_price": cents_to_str(line.unit_price_cents),
                }
                for line in self.lines
            ],
        }


class OrderLine(db.Model):
    __tablename__ = "order_lines"
    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price_cents: Mapped[int] = mapped_column(Integer)

    order: Mapped[Order] = relationship(back_populates="lines")
    product: Mapped[Product] = relationship(lazy="joined")

    # Lines load by order; top products walk a date range's orders, then their lines:
    # both indexes cover the columns those queries read.
    __table_args__ = (
        Index("ix_order_lines_order", "order_id", "product_id", "quantity", "unit_price_cents"),
        Index("ix_order_lines_product", "product_id", "quantity", "unit_price_cents"),
    )


class User(db.Model):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    password_hash: Mapped[str] = mapped_column(String(256), default="")
    role: Mapped[str] = mapped_column(String(20), default="staff")  # owner | staff
    created_at: Mapped[datetime] = mapped_column(DateTime, default=now)
    # Every staff session carries the generation it was signed in with; signing out bumps
    # it, so that cookie (and any copy of it, on any device) stops working.
    session_generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

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
    )

    @property
    def finished(self):
        return self.state in ("success", "failure")
