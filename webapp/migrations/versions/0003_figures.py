"""The figures shops run on (0.3.0): tax, cost and margin, discounts, payment methods,
walk-in sales, refunds, closed days (Z-reports) and the shop's settings.

Orders recorded before keep their money as it was: no tax was recorded then, so each line
gets tax rate 0 and net = quantity x unit price, and each order gross = total, discount 0.
Their reports give the same revenue as before the upgrade (tests/test_migrations.py).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('settings',
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('key')
    )
    op.create_table('z_reports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('business_day', sa.Date(), nullable=False),
    sa.Column('since', sa.DateTime(), nullable=False),
    sa.Column('until', sa.DateTime(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('json_body', sa.Text(), nullable=False),
    sa.Column('csv_body', sa.Text(), nullable=False),
    sa.Column('pdf_body', sa.LargeBinary(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('business_day'),
    sa.UniqueConstraint('number')
    )
    op.create_table('refunds',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('reason', sa.String(length=300), nullable=False),
    sa.Column('restocked', sa.Boolean(), nullable=False),
    sa.Column('payment_method', sa.String(length=40), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('amount_cents', sa.Integer(), nullable=False),
    sa.Column('net_cents', sa.Integer(), nullable=False),
    sa.Column('tax_cents', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], ),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('refunds', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_refunds_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_refunds_order_id'), ['order_id'], unique=False)

    op.create_table('refund_lines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('refund_id', sa.Integer(), nullable=False),
    sa.Column('order_line_id', sa.Integer(), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('tax_rate_bp', sa.Integer(), nullable=False),
    sa.Column('net_cents', sa.Integer(), nullable=False),
    sa.Column('tax_cents', sa.Integer(), nullable=False),
    sa.Column('cost_cents', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['order_line_id'], ['order_lines.id'], ),
    sa.ForeignKeyConstraint(['refund_id'], ['refunds.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('refund_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_refund_lines_order_line_id'), ['order_line_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_refund_lines_refund_id'), ['refund_id'], unique=False)

    with op.batch_alter_table('order_lines', schema=None) as batch_op:
        batch_op.add_column(sa.Column('tax_rate_bp', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('unit_cost_cents', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('discount_cents', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('net_cents', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('tax_cents', sa.Integer(), server_default='0', nullable=False))

    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('gross_cents', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('discount_cents', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('tax_cents', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('discount_percent_bp', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('discount_amount_cents', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('payment_method', sa.String(length=40), server_default='', nullable=False))
        batch_op.add_column(sa.Column('currency', sa.String(length=3), server_default='', nullable=False))
        batch_op.add_column(sa.Column('prices_include_tax', sa.Boolean(), server_default=sa.true(), nullable=False))
        batch_op.alter_column('customer_id',
               existing_type=sa.INTEGER(),
               nullable=True)

    with op.batch_alter_table('products', schema=None) as batch_op:
        batch_op.add_column(sa.Column('cost_cents', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('tax_rate_bp', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('reorder_at', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('archived', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('low_stock_alerted', sa.Boolean(), server_default=sa.false(), nullable=False))

    # Recorded sales keep what they were: before this, no tax and no discount existed.
    op.execute("UPDATE order_lines SET net_cents = quantity * unit_price_cents")
    op.execute("UPDATE orders SET gross_cents = total_cents")


def downgrade():
    with op.batch_alter_table('products', schema=None) as batch_op:
        batch_op.drop_column('low_stock_alerted')
        batch_op.drop_column('archived')
        batch_op.drop_column('reorder_at')
        batch_op.drop_column('tax_rate_bp')
        batch_op.drop_column('cost_cents')

    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.alter_column('customer_id',
               existing_type=sa.INTEGER(),
               nullable=False)
        batch_op.drop_column('prices_include_tax')
        batch_op.drop_column('currency')
        batch_op.drop_column('payment_method')
        batch_op.drop_column('discount_amount_cents')
        batch_op.drop_column('discount_percent_bp')
        batch_op.drop_column('tax_cents')
        batch_op.drop_column('discount_cents')
        batch_op.drop_column('gross_cents')

    with op.batch_alter_table('order_lines', schema=None) as batch_op:
        batch_op.drop_column('tax_cents')
        batch_op.drop_column('net_cents')
        batch_op.drop_column('discount_cents')
        batch_op.drop_column('unit_cost_cents')
        batch_op.drop_column('tax_rate_bp')

    with op.batch_alter_table('refund_lines', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_refund_lines_refund_id'))
        batch_op.drop_index(batch_op.f('ix_refund_lines_order_line_id'))

    op.drop_table('refund_lines')
    with op.batch_alter_table('refunds', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_refunds_order_id'))
        batch_op.drop_index(batch_op.f('ix_refunds_created_at'))

    op.drop_table('refunds')
    op.drop_table('z_reports')
    op.drop_table('settings')
