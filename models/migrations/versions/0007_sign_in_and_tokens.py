"""sign-in and API tokens: api_tokens, the append-only access log, sign-in throttling on users,
the token an event came through, and a version on cases for the API's ETag

Revision ID: 0007
Revises: 0006
"""
import sqlalchemy as sa
from alembic import op

import models

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

_SQLITE_TRIGGERS = [
    """CREATE TRIGGER access_events_no_update BEFORE UPDATE ON access_events
       BEGIN SELECT RAISE(ABORT, 'the access log is append-only: UPDATE refused'); END""",
    """CREATE TRIGGER access_events_no_delete BEFORE DELETE ON access_events
       BEGIN SELECT RAISE(ABORT, 'the access log is append-only: DELETE refused'); END""",
]
_PG_TRIGGERS = [
    """CREATE FUNCTION access_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN RAISE EXCEPTION 'the access log is append-only: % refused', TG_OP
             USING ERRCODE = 'insufficient_privilege'; END $$""",
    """CREATE TRIGGER access_events_no_change BEFORE UPDATE OR DELETE ON access_events
       FOR EACH ROW EXECUTE FUNCTION access_events_append_only()""",
]
_SQLITE_CASE_EVENT_TRIGGERS = [
    """CREATE TRIGGER case_events_no_update BEFORE UPDATE ON case_events
       BEGIN SELECT RAISE(ABORT, 'case history is append-only: UPDATE refused'); END""",
    """CREATE TRIGGER case_events_no_delete BEFORE DELETE ON case_events
       BEGIN SELECT RAISE(ABORT, 'case history is append-only: DELETE refused'); END""",
]


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == 'sqlite'
    op.create_table(
        'api_tokens',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('prefix', sa.String(length=16), nullable=False),
        sa.Column('created_at', models.base.UTCDateTime(), nullable=False),
        sa.Column('expires_at', models.base.UTCDateTime(), nullable=True),
        sa.Column('last_used_at', models.base.UTCDateTime(), nullable=True),
        sa.Column('revoked_at', models.base.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_api_tokens_user_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_api_tokens')),
        sa.UniqueConstraint('token_hash', name=op.f('uq_api_tokens_token_hash')),
    )
    op.create_index(op.f('ix_api_tokens_user_id'), 'api_tokens', ['user_id'], unique=False)
    op.create_table(
        'access_events',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('at', models.base.UTCDateTime(), nullable=False),
        sa.Column('kind', sa.String(length=32), nullable=False),
        sa.Column('actor_id', sa.Integer(), nullable=True),
        sa.Column('subject_user_id', sa.Integer(), nullable=True),
        sa.Column('username', sa.String(length=64), nullable=True),
        sa.Column('summary', sa.Text(), nullable=False),
        sa.Column('data', models.base.JSONType, nullable=False),
        sa.Column('channel', sa.String(length=16), nullable=False),
        sa.Column('address', sa.String(length=64), nullable=True),
        sa.Column('token_id', sa.Integer(), nullable=True),
        sa.Column('os_user', sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_access_events_actor_id_users')),
        sa.ForeignKeyConstraint(['subject_user_id'], ['users.id'],
                                name=op.f('fk_access_events_subject_user_id_users')),
        sa.ForeignKeyConstraint(['token_id'], ['api_tokens.id'], name=op.f('fk_access_events_token_id_api_tokens')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_access_events')),
    )
    op.create_index('ix_access_events_user', 'access_events', ['subject_user_id', 'id'], unique=False)
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('failed_sign_ins', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('locked_until', models.base.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('last_sign_in_at', models.base.UTCDateTime(), nullable=True))
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('version', sa.Integer(), nullable=False, server_default='1'))
    with op.batch_alter_table('case_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('token_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_case_events_token_id_api_tokens'), 'api_tokens',
                                    ['token_id'], ['id'])
    if sqlite:
        # A foreign key added in batch mode rebuilds case_events on SQLite, which drops its triggers.
        for ddl in _SQLITE_CASE_EVENT_TRIGGERS:
            op.execute(ddl.replace("CREATE TRIGGER", "CREATE TRIGGER IF NOT EXISTS"))
    for ddl in (_SQLITE_TRIGGERS if sqlite else _PG_TRIGGERS):
        op.execute(ddl)


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == 'sqlite'
    if sqlite:
        op.execute("DROP TRIGGER access_events_no_update")
        op.execute("DROP TRIGGER access_events_no_delete")
    else:
        op.execute("DROP TRIGGER access_events_no_change ON access_events")
        op.execute("DROP FUNCTION access_events_append_only()")
    with op.batch_alter_table('case_events', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_case_events_token_id_api_tokens'), type_='foreignkey')
        batch_op.drop_column('token_id')
    if sqlite:
        for ddl in _SQLITE_CASE_EVENT_TRIGGERS:
            op.execute(ddl.replace("CREATE TRIGGER", "CREATE TRIGGER IF NOT EXISTS"))
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_column('version')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('last_sign_in_at')
        batch_op.drop_column('locked_until')
        batch_op.drop_column('failed_sign_ins')
    op.drop_index('ix_access_events_user', table_name='access_events')
    op.drop_table('access_events')
    op.drop_index(op.f('ix_api_tokens_user_id'), table_name='api_tokens')
    op.drop_table('api_tokens')
