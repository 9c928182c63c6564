"""One unfinished job per request (issue 13): `jobs.active_key` holds the job's dedup key
while it is queued or running and NULL once it ends, under a unique index, so that the
same report asked on two web processes at the same moment makes one job, not two (the
check before the insert could not see the other process's insert).

Existing unfinished jobs get their key, the oldest of each key only: a database made
before this may hold duplicates (the very race this closes); the later ones keep running
and finish as before, without the key.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('jobs', sa.Column('active_key', sa.String(length=200), nullable=True))
    conn = op.get_bind()
    rows = conn.execute(sa.text(
        "SELECT id, dedup_key FROM jobs WHERE state IN ('queued', 'running') "
        "AND dedup_key <> '' ORDER BY created_at, id")).all()
    seen = set()
    for job_id, key in rows:
        if key not in seen:
            seen.add(key)
            conn.execute(sa.text("UPDATE jobs SET active_key = :key WHERE id = :id"),
                         {"key": key, "id": job_id})
    op.create_index('ux_jobs_active_key', 'jobs', ['active_key'], unique=True)


def downgrade():
    op.drop_index('ux_jobs_active_key', table_name='jobs')
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.drop_column('active_key')
