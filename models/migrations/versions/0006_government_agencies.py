"""the 市县政府 as an agency of every county and city

Seed 001 (吉安居办〔2020〕18号 二(二)) gives the city and county governments, not 住建, the 府院联动
meeting, the choice of resettlement mode, the 联席会议 and 容缺 arrangement, the order to a defaulting
developer, the 接盘 and the 兜底. The playbooks now put those steps in a lane `hq:role="government"`,
which resolves to the government office of the case's place. A database seeded before this release
has no such agency, and a task routed to that lane would be refused ("没有“市县政府”部门"); this
migration adds the office to every county and city that lacks one, named as
workflows.regions.seed_agencies names it: "<place>人民政府办公室" (长白山管委会: "长白山管委会办公室").

Rows only, and idempotent: a place that already has the role is left alone. Written out here rather
than calling workflows.regions, so that the migration keeps meaning what it meant when it was written.
Downgrade removes the offices nobody works in and no task was ever routed to.

Revision ID: 0006
Revises: 0005
"""
import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

ROLE = "government"

regions = sa.table("regions", sa.column("id", sa.Integer), sa.column("name", sa.String),
                   sa.column("level", sa.String))
agencies = sa.table("agencies", sa.column("id", sa.Integer), sa.column("region_id", sa.Integer),
                    sa.column("role", sa.String), sa.column("name", sa.String))
users = sa.table("users", sa.column("agency_id", sa.Integer))
tasks = sa.table("tasks", sa.column("agency_id", sa.Integer))


def office_name(place: str) -> str:
    """Must match workflows.regions._agency_name for the role "government"."""
    return f"{place}办公室" if place.endswith("管委会") else f"{place}人民政府办公室"


def upgrade() -> None:
    conn = op.get_bind()
    have = set(conn.execute(sa.select(agencies.c.region_id).where(agencies.c.role == ROLE)).scalars())
    places = conn.execute(sa.select(regions.c.id, regions.c.name).where(regions.c.level.in_(["county", "city"]))
                          .order_by(regions.c.id)).all()
    rows = [{"region_id": region_id, "role": ROLE, "name": office_name(name)}
            for region_id, name in places if region_id not in have]
    if rows:
        conn.execute(agencies.insert(), rows)


def downgrade() -> None:
    worked_in = sa.exists().where(users.c.agency_id == agencies.c.id)
    routed_to = sa.exists().where(tasks.c.agency_id == agencies.c.id)
    op.get_bind().execute(agencies.delete().where(agencies.c.role == ROLE, ~worked_in, ~routed_to))
