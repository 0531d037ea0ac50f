"""the officer's desk: form drafts (暂存), stock opinions (常用意见), saved list filters, evidence
attachments, the opinion (审批意见) a completion carries, and each user's page language

Revision ID: 0008
Revises: 0007
"""
import sqlalchemy as sa
from alembic import op

import models

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'task_drafts',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('task_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('data', models.base.JSONType, nullable=False),
        sa.Column('opinion', sa.Text(), nullable=True),
        sa.Column('saved_at', models.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['task_id'], ['tasks.id'], name=op.f('fk_task_drafts_task_id_tasks')),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_task_drafts_user_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_task_drafts')),
        sa.UniqueConstraint('task_id', 'user_id', name='uq_task_drafts_task_user'),
    )
    op.create_table(
        'stock_opinions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('text', sa.String(length=500), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_stock_opinions_user_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_stock_opinions')),
    )
    op.create_index('ix_stock_opinions_user', 'stock_opinions', ['user_id', 'id'], unique=False)
    op.create_table(
        'saved_filters',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('page', sa.String(length=32), nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('query', sa.String(length=2000), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_saved_filters_user_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_saved_filters')),
        sa.UniqueConstraint('user_id', 'page', 'name', name='uq_saved_filters_user_page_name'),
    )
    op.create_table(
        'attachments',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('task_id', sa.Integer(), nullable=True),
        sa.Column('field_key', sa.String(length=100), nullable=True),
        sa.Column('name', sa.String(length=255), nullable=False),
        sa.Column('content_type', sa.String(length=100), nullable=False),
        sa.Column('size', sa.BigInteger(), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('uploaded_by_id', sa.Integer(), nullable=False),
        sa.Column('uploaded_at', models.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_attachments_case_id_cases')),
        sa.ForeignKeyConstraint(['task_id'], ['tasks.id'], name=op.f('fk_attachments_task_id_tasks')),
        sa.ForeignKeyConstraint(['uploaded_by_id'], ['users.id'], name=op.f('fk_attachments_uploaded_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_attachments')),
    )
    op.create_index('ix_attachments_case', 'attachments', ['case_id', 'id'], unique=False)
    op.create_index(op.f('ix_attachments_sha256'), 'attachments', ['sha256'], unique=False)
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('locale', sa.String(length=8), nullable=True))
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('opinion', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.drop_column('opinion')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('locale')
    op.drop_index(op.f('ix_attachments_sha256'), table_name='attachments')
    op.drop_index('ix_attachments_case', table_name='attachments')
    op.drop_table('attachments')
    op.drop_table('saved_filters')
    op.drop_index('ix_stock_opinions_user', table_name='stock_opinions')
    op.drop_table('stock_opinions')
    op.drop_table('task_drafts')
