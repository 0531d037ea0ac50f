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


_current: dict[tuple, Bundle] = {}


def current_bundle() -> Bundle:
    """The bundle of the configured directory, parsed once per distinct file content.

    Files are re-read only when a name, size or modification time changes (a stat per file), so an
    edited process is picked up without a restart and without re-reading on every call.
    """
    directory = _bpmn_dir[0]
    key = (str(directory),) + tuple(
        (p.name, st.st_size, st.st_mtime_ns) for p in sorted(directory.glob("*.bpmn")) for st in [p.stat()])
    bundle = _current.get(key)
    if bundle is None:
        bundle = load_bundle(read_directory(directory))
        _current.clear()
        _current[key] = bundle
    return bundle


_hashes: dict[int, dict[str, str]] = {}


def process_hashes(bundle: Bundle) -> dict[str, str]:
    """{process id: sha256 of its file}; computed once per bundle."""
    if id(bundle) not in _hashes:
        _hashes[id(bundle)] = {pid: bundle.file_hash(f) for pid, f in sorted(bundle.file_of_process.items())}
    return _hashes[id(bundle)]


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
