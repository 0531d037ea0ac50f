"""Lane names in the BPMN files and the agency each resolves to at run time."""

from __future__ import annotations

from models import AGENCY_ROLES

# Lane name -> (agency role, level of the case's place the agency is taken from).
# Plain role labels are the county's own agency; "市安居办" is the supervising level above it.
LANES: dict[str, tuple[str, str]] = {label: (role, "county") for role, label in AGENCY_ROLES.items()}
LANES["市安居办"] = ("supervision", "parent")
