"""Daily figures (issue 13): sales and refunds summed per business day, hour and payment
method (daily_sales), per business day, product and tax rate (daily_product_sales) and
per business day and customer's country (daily_country_sales),
with the day start they were summed with (figures_basis). Filled here from every order
and refund, with the day start stored in Settings (larder.toml's, if different, makes
the first start rebuild them: webapp.daily_figures.ensure_current).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30
"""
import json
from datetime import time

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

SALES_VALUES = ("orders", "gross_cents", "discount_cents", "total_cents", "refunds",
                "refunds_cents")
PRODUCT_VALUES = ("lines", "quantity", "list_cents", "net_cents", "tax_cents", "cost_cents",
                  "net_known_cents", "quantity_known", "lines_without_cost", "refund_lines",
                  "refund_quantity", "refund_net_cents", "refund_tax_cents",
                  "refund_cost_cents", "refund_net_known_cents", "refund_quantity_known")


def _counts(names):
    return [sa.Column(name, sa.BigInteger(), nullable=False) for name in names]


def upgrade():
    op.create_table('daily_sales',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('hour', sa.Integer(), nullable=False),
    sa.Column('next_date', sa.Boolean(), nullable=False),
    sa.Column('method', sa.String(length=40), nullable=False),
    *_counts(SALES_VALUES),
    sa.PrimaryKeyConstraint('day', 'hour', 'next_date', 'method')
    )
    op.create_table('daily_product_sales',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('rate_bp', sa.Integer(), nullable=False),
    *_counts(PRODUCT_VALUES),
    sa.PrimaryKeyConstraint('day', 'product_id', 'rate_bp')
    )
    op.create_table('daily_country_sales',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('country', sa.String(length=100), nullable=False),
    *_counts(("orders", "total_cents", "refunds", "refunds_cents")),
    sa.PrimaryKeyConstraint('day', 'country')
    )
    op.create_table('figures_basis',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('day_starts_at', sa.String(length=5), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    from webapp import daily_figures

    bind = op.get_bind()
    stored = bind.execute(sa.text(
        "SELECT value FROM settings WHERE key = 'day_starts_at'")).scalar()
    hours, minutes = (int(part) for part in (json.loads(stored) if stored else "00:00")
                      .split(":"))
    daily_figures.fill(bind, time(hours, minutes))


def downgrade():
    op.drop_table('figures_basis')
    op.drop_table('daily_country_sales')
    op.drop_table('daily_product_sales')
    op.drop_table('daily_sales')
