"""The orders list's order (issue 12, every page under 50 ms): newest first, by
`created_at` then `id`. The figures' index starts with created_at but not id, so SQLite
sorted each run of equal times in a temporary table and the list's last page at 100,000
orders took ~100 ms (bench/page_times.py); walking this index it takes a few ms.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_orders_list', 'orders', ['created_at', 'id'], unique=False)


def downgrade():
    op.drop_index('ix_orders_list', table_name='orders')
