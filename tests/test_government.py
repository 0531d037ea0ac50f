"""The 市县政府 as an agency: every county and city has its government office, the playbooks' lane
`hq:role="government"` resolves to it, and a database seeded before it existed gets it on upgrade."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from alembic.migration import MigrationContext
from alembic.operations import Operations
from sqlalchemy import delete, func, select

from models import AGENCY_ROLES, Agency, Region, Task
from tests.conftest import at
from workflows import regions
from workflows.instances import _resolve_agencies

MIGRATION = Path(__file__).resolve().parent.parent / "models" / "migrations" / "versions" / "0006_government_agencies.py"


def _load_migration():  # noqa: ANN202
    spec = importlib.util.spec_from_file_location("migration_0006", MIGRATION)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _offices(session) -> dict[str, str]:  # noqa: ANN001
    return dict(session.execute(select(Region.name, Agency.name).join(Agency.region)
                                .where(Agency.role == "government")).all())


def test_every_county_and_city_has_its_government_office_and_the_province_has_none(session):
    assert AGENCY_ROLES["government"] == "市县政府"
    offices = _offices(session)
    places = dict(session.execute(select(Region.name, Region.level)).all())
    assert {name for name, level in places.items() if level in ("county", "city")} == set(offices)
    assert offices["榆树市"] == "榆树市人民政府办公室"
    assert offices["长春市"] == "长春市人民政府办公室"
    assert offices["南关区"] == "南关区人民政府办公室"
    assert offices["延边朝鲜族自治州"] == "延边朝鲜族自治州人民政府办公室"
    assert offices["长白山管委会"] == "长白山管委会办公室"  # the province's agency, not a people's government
    assert "吉林省" not in offices
    # Seeding again adds nothing.
    assert regions.seed_agencies(session, {r.code: r for r in session.scalars(select(Region))}) == 0


def test_the_government_lane_resolves_to_the_office_of_the_cases_own_place(driver):
    for county, office in (("榆树市", "榆树市人民政府办公室"), ("南关区", "南关区人民政府办公室"),
                           ("梅河口市", "梅河口市人民政府办公室")):
        case = driver.new_case(1, county=county, now=at("2026-03-02 09:00"))
        routes = _resolve_agencies(driver.session, case, {"government"})
        assert routes["government"][1:] == (office, False)


def test_migration_0006_adds_the_offices_to_a_database_seeded_before_them(driver, engine):
    session = driver.session
    expected = _offices(session)
    # Routed to once, so the downgrade below must keep that office.
    case = driver.new_case(1, now=at("2026-03-02 09:00"))
    driver.to_court_judgment(case)  # the 府院联动 meeting went to 榆树市人民政府办公室
    used = session.scalar(select(Task.agency_id).where(Task.case_id == case.id, Task.lane == "government"))
    assert used is not None
    session.execute(delete(Agency).where(Agency.role == "government", Agency.id != used))
    session.commit()
    assert len(_offices(session)) == 1

    with engine.begin() as conn, Operations.context(MigrationContext.configure(conn)):
        _load_migration().upgrade()
    session.rollback()
    assert _offices(session) == expected
    with engine.begin() as conn, Operations.context(MigrationContext.configure(conn)):
        _load_migration().upgrade()  # again: nothing to add, nothing doubled
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Agency).where(Agency.role == "government")) \
        == len(expected)

    # Downgrade removes the offices nobody works in and no task went to.
    with engine.begin() as conn, Operations.context(MigrationContext.configure(conn)):
        _load_migration().downgrade()
    session.rollback()
    assert session.scalars(select(Agency.id).where(Agency.role == "government")).all() == [used]
