"""Roles (issue 12): owner, manager and staff (webapp.permissions), and accounts the
owner can disable. `disabled` starts false for every existing account; the role column
only takes the three roles (existing accounts are "owner" or "staff" already; anything
else, which no Larder wrote, becomes "staff", the least it could be).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    op.execute("UPDATE users SET role = 'staff' WHERE role NOT IN ('owner', 'manager', 'staff')")
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('disabled', sa.Boolean(), server_default=sa.false(),
                                      nullable=False))
        batch_op.create_check_constraint('ck_users_role',
                                         "role IN ('owner', 'manager', 'staff')")


def downgrade():
    # 0005 knows owner and staff only, and no disabled accounts: a manager becomes staff
    # (never more than it was), a disabled account gets no password (it cannot sign in).
    op.execute("UPDATE users SET role = 'staff' WHERE role = 'manager'")
    op.execute("UPDATE users SET password_hash = '' WHERE disabled")
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_constraint('ck_users_role', type_='check')
        batch_op.drop_column('disabled')
