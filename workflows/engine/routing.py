"""Lanes of the BPMN files and the agency each resolves to at run time.

A lane's identity is what it declares in our namespace, never its name: `hq:role` (a key of
models.AGENCY_ROLES) and optionally `hq:level` ("county", the default: the case's own place;
"parent": the supervising level above it). The name is free display text, so renaming a lane in a
modeler changes nothing but what people read.

Stored and compared as a short string key, "housing" or "supervision@parent": task rows and history
keep it, and it stays readable in the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from models import AGENCY_ROLES

# Where the agency of a lane is looked for: the case's place, or the level that supervises it (the
# city, or the province for a place it governs directly). Label: how a refusal names the level.
LEVELS: dict[str, str] = {"county": "案件所在地", "parent": "上级"}
DEFAULT_LEVEL = "county"
_SEPARATOR = "@"


class UnknownLane(ValueError):
    """A lane key (or role/level pair) that names no agency role or level we know."""


@dataclass(frozen=True)
class Lane:
    role: str
    level: str = DEFAULT_LEVEL
    label: str = ""  # display only; not part of the identity

    def __post_init__(self) -> None:
        if self.role not in AGENCY_ROLES:
            raise UnknownLane(f"未知的部门角色 {self.role!r}")
        if self.level not in LEVELS:
            raise UnknownLane(f"未知的层级 {self.level!r}")

    @property
    def key(self) -> str:
        return self.role if self.level == DEFAULT_LEVEL else f"{self.role}{_SEPARATOR}{self.level}"

    @property
    def display(self) -> str:
        return self.label or default_label(self.key)


@lru_cache(maxsize=256)  # called for every task opened; there are only a few dozen keys
def resolve(key: str) -> tuple[str, str]:
    """Lane key -> (agency role, level). Raises UnknownLane for a key no lane can have."""
    role, _, level = key.partition(_SEPARATOR)
    lane = Lane(role, level or DEFAULT_LEVEL)
    if lane.key != key:  # "housing@county" is spelled "housing": one key per lane, or routes split
        raise UnknownLane(f"泳道键 {key!r} 不规范，应为 {lane.key!r}")
    return lane.role, lane.level


def default_label(key: str) -> str:
    """What to call a lane when its BPMN name is not at hand (e.g. a key read from a task row)."""
    role, level = resolve(key)
    return AGENCY_ROLES[role] if level == DEFAULT_LEVEL else f"{LEVELS[level]}{AGENCY_ROLES[role]}"


def valid_codes() -> str:
    """The role codes a lane may declare, for refusals: 'housing（住建）、finance（财政）…'."""
    return "、".join(f"{code}（{label}）" for code, label in AGENCY_ROLES.items())
