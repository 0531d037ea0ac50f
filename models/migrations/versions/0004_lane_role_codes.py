"""lanes keyed by role codes instead of their Chinese names

A lane used to be identified by its name ("住建", "市安居办"); now it declares `hq:role` (a key of
AGENCY_ROLES) and, for the supervising level above the county, `hq:level="parent"`, and rows store a
stable key: "housing", "supervision@parent". This migration

- rewrites tasks.lane from the old names to the keys;
- adds hq:role / hq:level to the lanes of every deployed process file, because running cases reload
  the files of the version they run under and the loader now refuses a lane without a role. Only the
  lane start tags change (the routing is the same), and a comment at the end of each file says so;
  each file's sha256 and its version's content_hash are recomputed so the integrity check on loading
  still holds. The comment also keeps a migrated version distinct from a deployment of the same files
  already carrying the attributes (content_hash is unique), e.g. `deploy-bpmn` run before `init`;
- leaves case_events alone: history is append-only, and old events keep the lane name they recorded.

The old names are written out here rather than derived from models.AGENCY_ROLES: a migration must keep
meaning what it meant when it was written, whatever the labels become.

Revision ID: 0004
Revises: 0003
"""
import hashlib
import re

import sqlalchemy as sa
from alembic import op
from lxml import etree

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
HQ_NS = "http://huiqian.org/schema/bpmn/1.0"

# Old lane name -> (role, level); level None is the case's own county (the default, not written).
OLD_LANES: dict[str, tuple[str, str | None]] = {
    "住建": ("housing", None),
    "财政": ("finance", None),
    "自然资源": ("planning", None),
    "征收": ("expropriation", None),
    "法院": ("court", None),
    "税务": ("tax", None),
    "消防": ("fire", None),
    "发改": ("development", None),
    "街道社区": ("community", None),
    "开发企业": ("developer", None),
    "安居办": ("supervision", None),
    "市安居办": ("supervision", "parent"),
}


def lane_key(role: str, level: str | None) -> str:
    """Must match workflows.engine.routing.Lane.key."""
    return role if level is None else f"{role}@{level}"


def content_hash(files: dict[str, str]) -> str:
    """Must match workflows.engine.specs.bundle_key: sha256 over sorted (name, content) pairs."""
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode() + b"\0" + files[name].encode() + b"\0")
    return digest.hexdigest()


# Appended to every file this migration rewrote: deployed sources are otherwise exactly as deployed.
MIGRATED_NOTE = "\n<!-- 迁移 0004：为泳道补全 hq:role / hq:level（原按泳道名称分派），流程内容未变 -->\n"

# A lane's start tag, whatever its prefix; attribute values may contain ">".
_LANE_TAG = re.compile(r"""<(?:[A-Za-z_][\w.-]*:)?lane(?=[\s/>])(?:[^>"']|"[^"]*"|'[^']*')*>""")
_ID_ATTR = re.compile(r"""\sid\s*=\s*(?:"([^"]*)"|'([^']*)')""")


def _roles_present(source: str) -> bool:
    root = etree.fromstring(source.encode())
    return all(lane.get(f"{{{HQ_NS}}}role") for lane in root.iter(f"{{{BPMN_NS}}}lane"))


def add_lane_roles(source: str, where: str) -> str:
    """The file with hq:role (and hq:level) on every lane that lacks them, otherwise unchanged.

    Edits the text of the lane start tags only, so the file stays as its author wrote it; falls back
    to re-serialising the document if the text is unusual (a lane tag inside a comment, say).
    """
    root = etree.fromstring(source.encode())
    todo: dict[str, str] = {}  # lane id -> attributes to add
    for lane in root.iter(f"{{{BPMN_NS}}}lane"):
        if lane.get(f"{{{HQ_NS}}}role"):
            continue
        name = lane.get("name") or ""
        if name not in OLD_LANES:
            # The loader of 0003 refused such a file, so it cannot have been deployed; stop rather than
            # leave a version no running case could load.
            raise RuntimeError(f"迁移 0004：{where} 的泳道 {lane.get('id')!r} 名称 {name!r} 无法对应部门角色")
        role, level = OLD_LANES[name]
        prefix = next((p for p, ns in lane.nsmap.items() if p and ns == HQ_NS), None)
        declare = ""
        if prefix is None:
            prefix = next(p for p in ("hq", "hq1", "hq2", "hqlane") if p not in lane.nsmap)
            declare = f' xmlns:{prefix}="{HQ_NS}"'
        attrs = f'{declare} {prefix}:role="{role}"' + (f' {prefix}:level="{level}"' if level else "")
        todo[lane.get("id") or ""] = attrs
    if not todo:
        return source

    seen: dict[str, int] = {}

    def add(match: re.Match[str]) -> str:
        tag = match.group(0)
        found = _ID_ATTR.search(tag)
        lane_id = (found.group(1) if found.group(1) is not None else found.group(2)) if found else ""
        if lane_id not in todo:
            return tag
        seen[lane_id] = seen.get(lane_id, 0) + 1
        end = len(tag) - (2 if tag.endswith("/>") else 1)
        return tag[:end].rstrip() + todo[lane_id] + tag[end:]

    edited = _LANE_TAG.sub(add, source)
    if set(seen) == set(todo) and all(n == 1 for n in seen.values()) and _roles_present(edited):
        return edited.rstrip("\n") + MIGRATED_NOTE
    for lane in root.iter(f"{{{BPMN_NS}}}lane"):
        if not lane.get(f"{{{HQ_NS}}}role"):
            role, level = OLD_LANES[lane.get("name") or ""]
            lane.set(f"{{{HQ_NS}}}role", role)
            if level:
                lane.set(f"{{{HQ_NS}}}level", level)
    return etree.tostring(root, encoding="unicode") + MIGRATED_NOTE


def upgrade() -> None:
    bind = op.get_bind()
    tasks = sa.table('tasks', sa.column('lane'))
    for name, (role, level) in OLD_LANES.items():
        bind.execute(sa.update(tasks).where(tasks.c.lane == name).values(lane=lane_key(role, level)))

    versions = sa.table('process_versions', sa.column('id'), sa.column('content_hash'))
    files = sa.table('process_files', sa.column('id'), sa.column('version_id'), sa.column('file_name'),
                     sa.column('sha256'), sa.column('source'))
    sources: dict[int, dict[str, str]] = {}
    changed: set[int] = set()
    for row in bind.execute(sa.select(files.c.id, files.c.version_id, files.c.file_name, files.c.source)
                            .order_by(files.c.id)).all():
        new = add_lane_roles(row.source, f"流程版本（id {row.version_id}）的文件 {row.file_name}")
        sources.setdefault(row.version_id, {})[row.file_name] = new
        if new != row.source:
            bind.execute(sa.update(files).where(files.c.id == row.id)
                         .values(source=new, sha256=hashlib.sha256(new.encode()).hexdigest()))
            changed.add(row.version_id)
    taken = {row.content_hash: row.id for row in bind.execute(sa.select(versions.c.id, versions.c.content_hash))}
    for version_id in sorted(changed):
        digest = content_hash(sources[version_id])
        if taken.get(digest, version_id) != version_id:  # only if someone deployed files with this very note
            raise RuntimeError(f"迁移 0004：流程版本（id {version_id}）补全泳道角色后与版本（id {taken[digest]}）"
                               "内容相同，请先处理重复的版本")
        bind.execute(sa.update(versions).where(versions.c.id == version_id).values(content_hash=digest))
        taken[digest] = version_id


def downgrade() -> None:
    # Task rows go back to the names 0003's code routes by. The process files keep their hq:role
    # attributes: that code reads lanes by name and ignores them, so the versions still load.
    tasks = sa.table('tasks', sa.column('lane'))
    bind = op.get_bind()
    for name, (role, level) in OLD_LANES.items():
        bind.execute(sa.update(tasks).where(tasks.c.lane == lane_key(role, level)).values(lane=name))
