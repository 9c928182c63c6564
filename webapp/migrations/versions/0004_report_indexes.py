"""Covering indexes for the extended reports (0.3.0): the figures of a year of 100,000
orders come from the indexes alone, as the old report's did (docs/benchmarks.md).

Each new index starts with the columns of the one it replaces, so every query that used
the old one uses the new one.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

ORDERS = ['created_at', 'status', 'total_cents', 'gross_cents', 'discount_cents',
          'payment_method', 'customer_id']
LINES = ['order_id', 'product_id', 'quantity', 'unit_price_cents', 'tax_rate_bp',
         'net_cents', 'tax_cents', 'unit_cost_cents']


def upgrade():
    op.drop_index('ix_orders_created_status_total', table_name='orders')
    op.create_index('ix_orders_figures', 'orders', ORDERS, unique=False)
    op.drop_index('ix_order_lines_order', table_name='order_lines')
    op.create_index('ix_order_lines_figures', 'order_lines', LINES, unique=False)


def downgrade():
    op.drop_index('ix_order_lines_figures', table_name='order_lines')
    op.create_index('ix_order_lines_order', 'order_lines', LINES[:4], unique=False)
    op.drop_index('ix_orders_figures', table_name='orders')
    op.create_index('ix_orders_created_status_total', 'orders', ORDERS[:3], unique=False)
