"""The migrations build exactly the schema the models declare, on each database."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from models import Base


def test_migrated_schema_matches_the_models(engine) -> None:  # noqa: ANN001
    with engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    # The PostgreSQL fixture keeps a copy of the seeded agencies for restoring them between tests.
    differences = [d for d in differences if not (d[0] == "remove_table" and d[1].name == "agencies_seed")]
    assert differences == []
