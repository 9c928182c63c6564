"""Customers known only by a till's id (0.4.0, imports): a Square export names its
customers by Square's customer id and gives no e-mail. `till_id` ("square:CUST123") is
their key, unique when set; `email` may be empty (NULL) for them. Customers added in
Larder (forms, API, CSV) still need an e-mail (catalog.CustomerIn).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('till_id', sa.String(length=100), nullable=True))
        batch_op.alter_column('email', existing_type=sa.String(length=254), nullable=True)
        batch_op.create_index(batch_op.f('ix_customers_till_id'), ['till_id'], unique=True)


def downgrade():
    # A customer without e-mail cannot exist in 0004's schema: those rows would block the
    # downgrade, so they are given a placeholder address from their till id.
    op.execute("UPDATE customers SET email = till_id || '@till.invalid' WHERE email IS NULL")
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_customers_till_id'))
        batch_op.alter_column('email', existing_type=sa.String(length=254), nullable=False)
        batch_op.drop_column('till_id')
