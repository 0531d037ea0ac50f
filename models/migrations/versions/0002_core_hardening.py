"""core hardening: append-only history in the database, event channel, timer failure bookkeeping,
serializer version, inbox indexes

Revision ID: 0002
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

import models

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

_SQLITE_TRIGGERS = [
    """CREATE TRIGGER case_events_no_update BEFORE UPDATE ON case_events
       BEGIN SELECT RAISE(ABORT, 'case history is append-only: UPDATE refused'); END""",
    """CREATE TRIGGER case_events_no_delete BEFORE DELETE ON case_events
       BEGIN SELECT RAISE(ABORT, 'case history is append-only: DELETE refused'); END""",
]
_PG_TRIGGERS = [
    """CREATE FUNCTION case_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN RAISE EXCEPTION 'case history is append-only: % refused', TG_OP
             USING ERRCODE = 'insufficient_privilege'; END $$""",
    """CREATE TRIGGER case_events_no_change BEFORE UPDATE OR DELETE ON case_events
       FOR EACH ROW EXECUTE FUNCTION case_events_append_only()""",
]


def upgrade() -> None:
    with op.batch_alter_table('case_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('channel', sa.String(length=16), nullable=False, server_default='service'))
        batch_op.add_column(sa.Column('os_user', sa.String(length=64), nullable=True))

    with op.batch_alter_table('process_instances', schema=None) as batch_op:
        batch_op.add_column(sa.Column('serializer_version', sa.String(length=32), nullable=False,
                                      server_default=''))
        batch_op.add_column(sa.Column('timer_failures', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('timer_last_error', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('timer_retry_at', models.base.UTCDateTime(), nullable=True))

    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('region_id', sa.Integer(), nullable=True))
    op.execute("UPDATE tasks SET region_id = (SELECT cases.region_id FROM cases WHERE cases.id = tasks.case_id)")
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.alter_column('region_id', existing_type=sa.Integer(), nullable=False)
        batch_op.create_foreign_key(batch_op.f('fk_tasks_region_id_regions'), 'regions', ['region_id'], ['id'])
        batch_op.drop_index('ix_tasks_agency_status')
        batch_op.create_index('ix_tasks_agency_status_due', ['agency_id', 'status', 'due_at', 'id'], unique=False)
        batch_op.create_index('ix_tasks_region_status_due', ['region_id', 'status', 'due_at', 'id'], unique=False)
        batch_op.create_index('ix_tasks_status_due', ['status', 'due_at', 'id'], unique=False)

    # Created last: the batch operations above may rebuild tables on SQLite, which drops triggers.
    for ddl in (_PG_TRIGGERS if op.get_bind().dialect.name == 'postgresql' else _SQLITE_TRIGGERS):
        op.execute(ddl)


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("DROP TRIGGER case_events_no_change ON case_events")
        op.execute("DROP FUNCTION case_events_append_only()")
    else:
        op.execute("DROP TRIGGER case_events_no_update")
        op.execute("DROP TRIGGER case_events_no_delete")
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.drop_index('ix_tasks_status_due')
        batch_op.drop_index('ix_tasks_region_status_due')
        batch_op.drop_index('ix_tasks_agency_status_due')
        batch_op.create_index('ix_tasks_agency_status', ['agency_id', 'status'], unique=False)
        batch_op.drop_constraint(batch_op.f('fk_tasks_region_id_regions'), type_='foreignkey')
        batch_op.drop_column('region_id')
    with op.batch_alter_table('process_instances', schema=None) as batch_op:
        batch_op.drop_column('timer_retry_at')
        batch_op.drop_column('timer_last_error')
        batch_op.drop_column('timer_failures')
        batch_op.drop_column('serializer_version')
    with op.batch_alter_table('case_events', schema=None) as batch_op:
        batch_op.drop_column('os_user')
        batch_op.drop_column('channel')
