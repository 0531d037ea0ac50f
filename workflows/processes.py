"""Process definitions as deployed data.

`deploy` validates a directory of BPMN files as a whole (everything `check-bpmn` checks) and stores it
as one new numbered version, only when some file changed. At run time specs come only from the
database: new cases start on the newest version, running cases keep theirs, and each version is
parsed once per process and cached by its content hash. A broken or half-saved file on disk
therefore never touches a running case; it is refused when someone tries to deploy it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import case, func, select, text
from sqlalchemy.orm import Session

from config import DefaultConfig
from models import ProcessFile, ProcessInstance, ProcessVersion, User

from . import inputs, permissions
from .auth import log
from .engine.specs import Bundle, bundle_key, load_bundle, parse_sources, read_directory
from .errors import Conflict, Forbidden, NotFound, ProcessDefinitionError
from .transactions import mutation

_bpmn_dir: list[Path] = [Path(DefaultConfig.BPMN_DIR)]


def configure(bpmn_dir: str | Path) -> None:
    _bpmn_dir[0] = Path(bpmn_dir)


def bpmn_dir() -> Path:
    return _bpmn_dir[0]


def current_bundle(directory: str | Path | None = None) -> Bundle:
    """The files on disk, parsed and validated (for check-bpmn, deploy and benchmarks; never for
    running cases)."""
    return load_bundle(read_directory(directory or _bpmn_dir[0]))


def sha256(text_: str) -> str:
    return hashlib.sha256(text_.encode()).hexdigest()


@dataclass(frozen=True)
class Deployment:
    version: ProcessVersion
    created: bool


@mutation
def deploy(session: Session, directory: str | Path | None = None, *, deployed_by: str) -> Deployment:
    """Validate every file of `directory` together and store them as a new version if anything changed.

    Permission: whoever can run the command line or is an administrator (the caller checks).
    Safe when run twice at once: deployments serialize, and the same content is one version.
    """
    directory = Path(directory or _bpmn_dir[0])
    sources = read_directory(directory)
    if not sources:
        raise NotFound(f"目录 {directory} 中没有 .bpmn 文件")
    parse_sources(sources, xsd=True)  # raises ProcessDefinitionError naming the file and element
    key = bundle_key(sources)
    if session.get_bind().dialect.name == "postgresql":
        # One deployment at a time; SQLite's write lock already serializes the whole transaction.
        session.execute(text("SELECT pg_advisory_xact_lock(hashtext('huiqian.deploy'))"))
    existing = session.scalar(select(ProcessVersion).where(ProcessVersion.content_hash == key))
    if existing is not None:
        return Deployment(existing, False)
    number = (session.scalar(select(func.max(ProcessVersion.number))) or 0) + 1
    version = ProcessVersion(number=number, content_hash=key, deployed_by=deployed_by[:128],
                             source_dir=str(directory)[:500])
    session.add(version)
    session.flush()
    session.add_all([ProcessFile(version_id=version.id, file_name=name, sha256=sha256(source), source=source)
                     for name, source in sorted(sources.items())])
    return Deployment(version, True)


def latest_version(session: Session) -> ProcessVersion:
    version = session.scalar(select(ProcessVersion).order_by(ProcessVersion.number.desc()).limit(1))
    if version is None:
        raise Conflict("尚未部署流程定义：请先运行 huiqian deploy-bpmn（或 huiqian init）")
    return version


def get_version(session: Session, number: int) -> ProcessVersion:
    version = session.scalar(select(ProcessVersion).where(ProcessVersion.number == number))
    if version is None:
        raise NotFound(f"流程版本 v{number} 不存在")
    return version


def bundle_of(session: Session, version_id: int, content_hash: str) -> Bundle:
    """The parsed specs of a deployed version: from the cache, or read from the database once."""
    from .engine import specs
    cached = specs.cached_bundle(content_hash)
    if cached is not None:
        return cached
    sources = dict(session.execute(select(ProcessFile.file_name, ProcessFile.source)
                                   .where(ProcessFile.version_id == version_id)).all())
    if bundle_key(sources) != content_hash:
        raise Conflict(f"流程版本（id {version_id}）的存储内容与其校验值不符，拒绝加载")
    return load_bundle(sources)


def bundle_for(session: Session, instance: ProcessInstance) -> Bundle:
    """The exact definitions an instance runs under."""
    content_hash = session.scalar(select(ProcessVersion.content_hash)
                                  .where(ProcessVersion.id == instance.version_id))
    return bundle_of(session, instance.version_id, content_hash)


@dataclass(frozen=True)
class VersionSummary:
    number: int
    deployed_at: object
    deployed_by: str
    content_hash: str
    files: list[tuple[str, str]]
    open_cases: int
    all_cases: int


def list_versions(session: Session, *, number: int | None = None) -> list[VersionSummary]:
    """Every deployed version (or only version `number`) with its files and how many cases run on it."""
    chosen = select(ProcessVersion).order_by(ProcessVersion.number)
    if number is not None:
        chosen = chosen.where(ProcessVersion.number == number)
    ids = select(ProcessVersion.id).where(ProcessVersion.number == number) if number is not None else None
    counts_q = (select(ProcessInstance.version_id, func.count(),
                       func.sum(case((ProcessInstance.completed.is_(False), 1), else_=0)))
                .group_by(ProcessInstance.version_id))
    files_q = select(ProcessFile.version_id, ProcessFile.file_name, ProcessFile.sha256).order_by(ProcessFile.file_name)
    if ids is not None:
        counts_q = counts_q.where(ProcessInstance.version_id.in_(ids))
        files_q = files_q.where(ProcessFile.version_id.in_(ids))
    counts = {vid: (total, open_) for vid, total, open_ in session.execute(counts_q)}
    files: dict[int, list[tuple[str, str]]] = {}
    for vid, name, digest in session.execute(files_q):
        files.setdefault(vid, []).append((name, digest))
    out = []
    for v in session.scalars(chosen):
        total, open_ = counts.get(v.id, (0, 0))
        out.append(VersionSummary(v.number, v.deployed_at, v.deployed_by, v.content_hash, files.get(v.id, []),
                                  int(open_ or 0), int(total or 0)))
    return out


# --- for the API: who may read and deploy versions, and migrate cases onto one ---------------------

VERSION_READERS = ("supervisor", "auditor", "admin")
MIGRATE_MAX_CASES = 1000
CASE_CODE_MAX = 32  # Case.code's width


def _require_reader(actor: User) -> None:
    if not actor.active or actor.role not in VERSION_READERS:
        raise Forbidden("只有督办人、审计和系统管理员可以查看流程版本")


def _number(number: Any) -> int:
    # The column is 32-bit on PostgreSQL, and SQLite cannot even bind 10**30: no such version.
    if not inputs.valid_id(number) or number > inputs.INT32_MAX:
        raise NotFound(f"流程版本 v{inputs.printable(str(number), 24)} 不存在")
    return number


def versions(session: Session, actor: User) -> list[VersionSummary]:
    """Every deployed version with its files and case counts. Permission: supervisors, auditors and
    administrators (the process rules are no secret from those who supervise or audit them)."""
    _require_reader(actor)
    return list_versions(session)


def version_summary(session: Session, actor: User, number: Any) -> VersionSummary:
    """One deployed version with its files (name, sha256). Permission: as `versions`."""
    _require_reader(actor)
    found = list_versions(session, number=_number(number))
    if not found:
        raise NotFound(f"流程版本 v{number} 不存在")
    return found[0]


@mutation
def deploy_configured(session: Session, actor: User) -> Deployment:
    """Deploy the server's configured BPMN directory (`deploy`): a new version if any file changed,
    else the existing one (`created` False). A file that fails validation is refused with
    ProcessDefinitionError naming the file and element. Writes `process_deployed` to the access log
    when a version is created.

    Permission: administrators of the province: a version applies to every case in the province, so a
    city's administrator may not deploy one.
    """
    permissions.require_admin(actor, "部署流程版本")
    if permissions.jurisdiction(actor).level != "province":
        raise Forbidden("流程版本适用于全省，只有省级系统管理员可以部署")
    try:
        result = deploy(session, deployed_by=actor.username)
    except ProcessDefinitionError as exc:
        # The API shows `message`: say which file and element, as the command line does.
        exc.message = f"流程校验未通过，未部署：{exc}"
        exc.errors = {"bpmn": [str(exc)]}
        raise
    if result.created:
        v = result.version
        log(session, "process_deployed", f"{actor.display_name} 部署流程版本 v{v.number}（{v.content_hash[:12]}）",
            actor=actor, data={"number": v.number, "content_hash": v.content_hash, "source_dir": v.source_dir})
    return result


def migrate_to(session: Session, actor: User, number: Any, case_codes: list[Any] | None = None, *,
               dry_run: bool = True) -> list[Any]:
    """Move running cases onto version `number` (workflows/migration.py), or with `dry_run` (the
    default) only report what would happen and write nothing. `case_codes`: at most
    MIGRATE_MAX_CASES codes, else every open case on an older version. Returns one
    `migration.CaseResult` per case.

    Permission: administrators.
    """
    from . import migration  # migration imports this module
    permissions.require_admin(actor, "迁移案件的流程版本")
    number = _number(number)
    codes = None
    if case_codes is not None:
        if not isinstance(case_codes, list) or len(case_codes) > MIGRATE_MAX_CASES:
            inputs.refuse("case_codes", "案件编号", f"应为不超过 {MIGRATE_MAX_CASES} 个案件编号的列表")
        codes = [inputs.clean_text(code, field="case_codes", label="案件编号", max_length=CASE_CODE_MAX)
                 for code in case_codes]
    return migration.migrate_cases(session, actor, number, codes, dry_run=dry_run)
