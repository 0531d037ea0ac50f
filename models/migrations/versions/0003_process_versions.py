"""process versions as deployed data; 代办 reason on tasks

Each deployment of the BPMN files becomes a process_versions row with its files; instances point at
the version they run under. Existing instances (which referenced per-process specs by hash) are moved
onto versions built from those specs, one version per distinct set.

Revision ID: 0003
Revises: 0002
"""
import hashlib
import json
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import models

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def content_hash(files: dict[str, str]) -> str:
    """Must match workflows.engine.specs.bundle_key: sha256 over sorted (name, content) pairs."""
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode() + b"\0" + files[name].encode() + b"\0")
    return digest.hexdigest()


def upgrade() -> None:
    op.create_table('process_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('deployed_at', models.base.UTCDateTime(), nullable=False),
    sa.Column('deployed_by', sa.String(length=128), nullable=False),
    sa.Column('source_dir', sa.String(length=500), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_process_versions')),
    sa.UniqueConstraint('content_hash', name=op.f('uq_process_versions_content_hash')),
    sa.UniqueConstraint('number', name=op.f('uq_process_versions_number'))
    )
    op.create_table('process_files',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('file_name', sa.String(length=200), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('source', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['version_id'], ['process_versions.id'],
                            name=op.f('fk_process_files_version_id_process_versions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_process_files')),
    sa.UniqueConstraint('version_id', 'file_name', name=op.f('uq_process_files_version_id'))
    )
    with op.batch_alter_table('process_instances', schema=None) as batch_op:
        batch_op.add_column(sa.Column('version_id', sa.Integer(), nullable=True))

    bind = op.get_bind()
    specs = sa.table('process_specs', sa.column('process_id'), sa.column('source_hash'),
                     sa.column('file_name'), sa.column('source'))
    instances = sa.table('process_instances', sa.column('id'), sa.column('spec_refs', sa.JSON()),
                         sa.column('version_id'))
    versions = sa.table('process_versions', sa.column('id'), sa.column('number'), sa.column('content_hash'),
                        sa.column('deployed_at', models.base.UTCDateTime()), sa.column('deployed_by'),
                        sa.column('source_dir'))
    files = sa.table('process_files', sa.column('version_id'), sa.column('file_name'), sa.column('sha256'),
                     sa.column('source'))
    by_hash = {(r.process_id, r.source_hash): (r.file_name, r.source) for r in bind.execute(sa.select(specs))}
    made: dict[str, int] = {}
    for row in bind.execute(sa.select(instances.c.id, instances.c.spec_refs)).all():
        refs = row.spec_refs if isinstance(row.spec_refs, dict) else json.loads(row.spec_refs)
        sources = dict(by_hash[(pid, digest)] for pid, digest in refs.items())
        key = content_hash(sources)
        if key not in made:
            number = len(made) + 1
            bind.execute(sa.insert(versions).values(number=number, content_hash=key,
                                                    deployed_at=datetime.now(UTC),
                                                    deployed_by='迁移 0003（由旧的流程登记生成）', source_dir=None))
            made[key] = bind.execute(sa.select(versions.c.id).where(versions.c.content_hash == key)).scalar_one()
            bind.execute(sa.insert(files), [
                {"version_id": made[key], "file_name": name, "sha256": hashlib.sha256(text.encode()).hexdigest(),
                 "source": text} for name, text in sorted(sources.items())])
        bind.execute(sa.update(instances).where(instances.c.id == row.id).values(version_id=made[key]))

    with op.batch_alter_table('process_instances', schema=None) as batch_op:
        batch_op.alter_column('version_id', existing_type=sa.Integer(), nullable=False)
        batch_op.create_foreign_key(batch_op.f('fk_process_instances_version_id_process_versions'),
                                    'process_versions', ['version_id'], ['id'])
        batch_op.create_index(batch_op.f('ix_process_instances_version_id'), ['version_id'], unique=False)
        batch_op.drop_constraint('fk_process_instances_spec_id_process_specs', type_='foreignkey')
        batch_op.drop_column('spec_id')
        batch_op.drop_column('spec_refs')
    op.drop_table('process_specs')

    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('on_behalf_reason', sa.Text(), nullable=True))


def downgrade() -> None:
    raise NotImplementedError("0003 folds per-process specs into deployed versions; restore a backup instead")
