"""The process definitions in use: the bundle from `bpmn/`, and its versions stored in the database."""

from __future__ import annotations

import hashlib
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from config import DefaultConfig
from models import ProcessInstance, ProcessSpec

from .engine.specs import LIFECYCLE_PROCESS, Bundle, load_bundle, read_directory

_bpmn_dir: list[Path] = [Path(DefaultConfig.BPMN_DIR)]


def configure(bpmn_dir: str | Path) -> None:
    _bpmn_dir[0] = Path(bpmn_dir)


def current_bundle() -> Bundle:
    """The bundle of the configured directory; parsed once per distinct file content."""
    return load_bundle(read_directory(_bpmn_dir[0]))


def process_hashes(bundle: Bundle) -> dict[str, str]:
    return {pid: bundle.file_hash(fname) for pid, fname in sorted(bundle.file_of_process.items())}


def register(session: Session, bundle: Bundle) -> ProcessSpec:
    """Store every process of the bundle that is new or changed as a new version; return the lifecycle row."""
    hashes = process_hashes(bundle)
    rows = {(r.process_id, r.source_hash): r for r in session.scalars(
        select(ProcessSpec).where(ProcessSpec.process_id.in_(hashes)))}
    lifecycle = None
    for pid, digest in hashes.items():
        row = rows.get((pid, digest))
        if row is None:
            latest = session.scalar(select(func.max(ProcessSpec.version)).where(ProcessSpec.process_id == pid))
            fname = bundle.file_of_process[pid]
            row = ProcessSpec(process_id=pid, name=bundle.process_names[pid], version=(latest or 0) + 1,
                              source_hash=digest, file_name=fname, source=bundle.sources[fname])
            session.add(row)
        if pid == LIFECYCLE_PROCESS:
            lifecycle = row
    session.flush()
    assert lifecycle is not None
    return lifecycle


def bundle_for(session: Session, instance: ProcessInstance) -> Bundle:
    """The exact definitions an instance started under (the current files if unchanged)."""
    bundle = current_bundle()
    if instance.spec_refs == process_hashes(bundle):
        return bundle
    sources: dict[str, str] = {}
    for pid, digest in instance.spec_refs.items():
        row = session.scalar(select(ProcessSpec).where(ProcessSpec.process_id == pid,
                                                       ProcessSpec.source_hash == digest))
        if row is None:
            raise LookupError(f"process {pid} version {digest[:8]} is not stored")
        sources[row.file_name] = row.source
    return load_bundle(sources)


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()
