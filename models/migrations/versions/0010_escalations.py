"""the escalation ladder as records: 催办, 督办, 驻点督办, 约谈, 问责 on a case, towards an agency or the
case's responsible leader, with its deadline, read receipt, answer and outcome

Revision ID: 0010
Revises: 0009
"""
import sqlalchemy as sa
from alembic import op

import models

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'escalations',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('task_id', sa.Integer(), nullable=True),
        sa.Column('level', sa.String(length=16), nullable=False),
        sa.Column('raised_by_id', sa.Integer(), nullable=True),
        sa.Column('raised_by_agency_id', sa.Integer(), nullable=True),
        sa.Column('automatic', sa.Boolean(), nullable=False),
        sa.Column('target_agency_id', sa.Integer(), nullable=True),
        sa.Column('target_leader', sa.String(length=100), nullable=True),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('due_at', models.base.UTCDateTime(), nullable=True),
        sa.Column('created_at', models.base.UTCDateTime(), nullable=False),
        sa.Column('acknowledged_at', models.base.UTCDateTime(), nullable=True),
        sa.Column('acknowledged_by_id', sa.Integer(), nullable=True),
        sa.Column('response', sa.Text(), nullable=True),
        sa.Column('responded_at', models.base.UTCDateTime(), nullable=True),
        sa.Column('responded_by_id', sa.Integer(), nullable=True),
        sa.Column('outcome', sa.String(length=16), nullable=False),
        sa.Column('outcome_note', sa.Text(), nullable=True),
        sa.Column('closed_at', models.base.UTCDateTime(), nullable=True),
        sa.Column('closed_by_id', sa.Integer(), nullable=True),
        sa.Column('version', sa.Integer(), server_default='1', nullable=False),
        sa.CheckConstraint("level IN ('urge', 'supervise', 'onsite', 'summon', 'accountability')",
                           name=op.f('ck_escalations_level_known')),
        sa.CheckConstraint("outcome IN ('open', 'answered', 'closed')", name=op.f('ck_escalations_outcome_known')),
        sa.CheckConstraint("(target_agency_id IS NULL) = (target_leader IS NOT NULL)",
                           name=op.f('ck_escalations_one_target')),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_escalations_case_id_cases')),
        sa.ForeignKeyConstraint(['task_id'], ['tasks.id'], name=op.f('fk_escalations_task_id_tasks')),
        sa.ForeignKeyConstraint(['raised_by_id'], ['users.id'], name=op.f('fk_escalations_raised_by_id_users')),
        sa.ForeignKeyConstraint(['raised_by_agency_id'], ['agencies.id'],
                                name=op.f('fk_escalations_raised_by_agency_id_agencies')),
        sa.ForeignKeyConstraint(['target_agency_id'], ['agencies.id'],
                                name=op.f('fk_escalations_target_agency_id_agencies')),
        sa.ForeignKeyConstraint(['acknowledged_by_id'], ['users.id'],
                                name=op.f('fk_escalations_acknowledged_by_id_users')),
        sa.ForeignKeyConstraint(['responded_by_id'], ['users.id'],
                                name=op.f('fk_escalations_responded_by_id_users')),
        sa.ForeignKeyConstraint(['closed_by_id'], ['users.id'], name=op.f('fk_escalations_closed_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_escalations')),
    )
    op.create_index('ix_escalations_case', 'escalations', ['case_id', 'id'], unique=False)
    op.create_index('ix_escalations_target_outcome', 'escalations', ['target_agency_id', 'outcome', 'id'],
                    unique=False)


def downgrade() -> None:
    op.drop_index('ix_escalations_target_outcome', table_name='escalations')
    op.drop_index('ix_escalations_case', table_name='escalations')
    op.drop_table('escalations')
