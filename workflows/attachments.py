"""Evidence files of a case: the scans a task's `file` fields ask for (判决书, 回迁安置协议, 验收报告).

The bytes are stored outside the web root, named by their SHA-256 (content-addressed: the same scan
uploaded twice is stored once, and the hash a task's record carries names exactly the bytes a verifier
opens), written to a temporary file and renamed into place, so a reader never sees half a file. A row
per upload says whose case and task it belongs to; only those who may see the case may download it.

What a field accepts is what its BPMN declares (`accept`, `max-size`), under a global cap; the name's
extension, the type the browser declared and the file's first bytes must all agree, so an HTML page
renamed to .pdf is refused, and web content (HTML, SVG, scripts) is never taken whatever a field says.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, NoReturn

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Attachment, Case, Task, User

from . import inputs, permissions, tasks
from .engine.specs import DEFAULT_ACCEPT, DEFAULT_MAX_SIZE, FILE_TYPES, FormField
from .errors import Conflict, Forbidden, NotFound
from .transactions import mutation

# Whatever a process file declares, these are never stored: a browser could render them as a page of
# this site. (FILE_TYPES has none of them either; the explicit list makes the refusal say why.)
REFUSED_EXTENSIONS = frozenset({".html", ".htm", ".xhtml", ".shtml", ".xht", ".svg", ".svgz", ".js", ".mjs",
                                ".xml", ".xsl", ".swf"})
# How each accepted kind of file begins. OFD, DOCX and XLSX are ZIP containers; DOC and XLS are OLE2.
_MAGIC: dict[str, tuple[bytes, ...]] = {
    ".pdf": (b"%PDF-",),
    ".png": (b"\x89PNG\r\n\x1a\n",),
    ".jpg": (b"\xff\xd8\xff",),
    ".jpeg": (b"\xff\xd8\xff",),
    ".tif": (b"II*\x00", b"MM\x00*"),
    ".tiff": (b"II*\x00", b"MM\x00*"),
    ".ofd": (b"PK\x03\x04",),
    ".docx": (b"PK\x03\x04",),
    ".xlsx": (b"PK\x03\x04",),
    ".doc": (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",),
    ".xls": (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",),
}
# What browsers send when they do not know a type, and older spellings of known ones.
_GENERIC_TYPES = frozenset({"", "application/octet-stream", "binary/octet-stream", "application/x-download"})
_TYPE_ALIASES = {"image/pjpeg": "image/jpeg", "image/jpg": "image/jpeg", "image/x-png": "image/png",
                 "application/x-pdf": "application/pdf", "application/vnd.ofd": "application/ofd"}
_CHUNK = 64 * 1024
NAME_MAX = 255


@dataclass(frozen=True)
class Upload:
    """A file as received: its stream, the name the sender gave it, the type the browser declared."""

    stream: BinaryIO
    filename: str
    content_type: str | None = None


def _refuse(field: FormField, problem: str) -> NoReturn:
    inputs.refuse(field.key, field.label, problem)


def size_text(size: int) -> str:
    """A byte count as people read it: "20 MB", "1.5 MB", "240 KB", "512 字节"."""
    for unit, shift in (("MB", 20), ("KB", 10)):
        if size >= 1 << shift:
            return f"{size / (1 << shift):.1f}".removesuffix(".0") + f" {unit}"
    return f"{size} 字节"


def _file_name(field: FormField, raw: str) -> tuple[str, str]:
    """The name as stored (no path, printable, bounded) and its lower-case extension."""
    # Old browsers send the full client path ("C:\\扫描\\判决书.pdf"): only the last part is the name.
    base = (raw or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = inputs.clean_text(base, field=field.key, label=f"{field.label}（文件名）", max_length=NAME_MAX)
    if not name or name in (".", ".."):
        _refuse(field, "文件名无效")
    extension = name[name.rfind("."):].lower() if "." in name else ""
    return name, extension


def _check_kind(field: FormField, extension: str, declared: str | None) -> str:
    """The content type to store (the accepted extension's own), or Invalid naming the field."""
    accept = field.accept or DEFAULT_ACCEPT
    allowed = "、".join(accept)
    if extension in REFUSED_EXTENSIONS:
        _refuse(field, f"不接受网页、脚本或 SVG 文件（{extension}），请上传{allowed}格式的扫描件")
    if extension not in accept:
        shown = inputs.printable(extension, 12) if extension else "（无扩展名）"
        _refuse(field, f"文件类型 {shown} 不允许（允许：{allowed}）")
    content_type = (declared or "").split(";", 1)[0].strip().lower()
    content_type = _TYPE_ALIASES.get(content_type, content_type)
    if content_type not in _GENERIC_TYPES and content_type not in FILE_TYPES[extension]:
        _refuse(field, f"文件类型 {inputs.printable(content_type, 40)} 与文件名 {extension} 不符（允许：{allowed}）")
    return FILE_TYPES[extension][0]


def _check_magic(field: FormField, extension: str, head: bytes) -> None:
    signatures = _MAGIC.get(extension)
    if signatures and not head.startswith(signatures):
        _refuse(field, f"文件内容不是 {extension} 格式（文件可能已损坏，或只是改了扩展名）")


def blob_path(directory: Path, sha256: str) -> Path:
    """Where the bytes with this hash live: <directory>/<first two hex digits>/<hash>."""
    return Path(directory) / sha256[:2] / sha256


def _receive(field: FormField, upload: Upload, extension: str, directory: Path, limit: int) -> tuple[str, int]:
    """Stream the upload into a temporary file beside the store, checking size and first bytes as it
    goes; move it into place under its hash. Returns (sha256, size). Nothing is left behind on refusal."""
    spool = Path(directory) / "tmp"
    spool.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    handle, temp_name = tempfile.mkstemp(dir=spool, prefix="upload-")
    try:
        with os.fdopen(handle, "wb") as out:
            head = b""
            while chunk := upload.stream.read(_CHUNK):
                if not isinstance(chunk, bytes):
                    _refuse(field, "文件内容无法读取")
                size += len(chunk)
                if size > limit:
                    _refuse(field, f"文件过大（不能超过 {size_text(limit)}）")
                if len(head) < 16:
                    head = (head + chunk)[:16]
                digest.update(chunk)
                out.write(chunk)
            if size == 0:
                _refuse(field, "文件为空")
            _check_magic(field, extension, head)
            out.flush()
            os.fsync(out.fileno())
        sha256 = digest.hexdigest()
        target = blob_path(directory, sha256)
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists():
            os.unlink(temp_name)  # the same bytes are already stored
        else:
            os.chmod(temp_name, 0o640)
            os.replace(temp_name, target)  # atomic within one file system
        return sha256, size
    except BaseException:
        if os.path.exists(temp_name):
            os.unlink(temp_name)
        raise


def _actable_task(session: Session, actor: User, task_id: int) -> tuple[Task, Case]:
    task = tasks.get_task(session, actor, task_id)  # NotFound outside the actor's reach
    case = session.get(Case, task.case_id)
    assert case is not None
    if not permissions.can_act_on_task(actor, task, case):
        raise Forbidden("只有承办部门的经办人或督办人可以上传该任务的附件")
    if task.status != "ready":
        raise Conflict(f"任务「{task.name}」{task.status_label}，不能再上传附件")
    return task, case


def store_upload(session: Session, actor: User, task_id: int, field_key: str, upload: Upload, *,
                 directory: Path, max_bytes: int = DEFAULT_MAX_SIZE) -> Attachment:
    """Store an evidence file for the `file` field `field_key` of an open task and record it.

    Permission: may act on the task (its agency's officers; supervisors over the case's place), and
    the task is open. Checks: the field exists and is a file field; the name's extension is one the
    field accepts (never HTML, SVG or scripts); the declared type matches it; the first bytes are that
    kind of file; the size is at most the field's `max-size` and `max_bytes`. Refusals are Invalid
    naming the field. Side effects: the bytes under their SHA-256 in `directory`, an Attachment row.
    """
    task, case = _actable_task(session, actor, task_id)
    field = next((f for f in tasks.task_fields(session, task) if f.key == field_key and f.type == "file"), None)
    if field is None:
        inputs.refuse(inputs.printable(field_key, 40), "附件", "该任务没有此附件字段")
    name, extension = _file_name(field, upload.filename)
    content_type = _check_kind(field, extension, upload.content_type)
    limit = min(field.max_size or DEFAULT_MAX_SIZE, max_bytes)
    sha256, size = _receive(field, upload, extension, directory, limit)
    return _record(session, actor, Attachment(case_id=case.id, task_id=task.id, field_key=field.key, name=name,
                                              content_type=content_type, size=size, sha256=sha256,
                                              uploaded_by_id=actor.id))


@mutation
def _record(session: Session, actor: User, attachment: Attachment) -> Attachment:
    session.add(attachment)
    return attachment


def get_attachment(session: Session, actor: User, attachment_id: int) -> Attachment:
    """One attachment, for download. Permission: may see its case (permissions.can_view_case);
    otherwise it does not exist (NotFound). No side effects."""
    if not inputs.valid_id(attachment_id):
        raise NotFound("附件不存在")
    attachment = session.get(Attachment, attachment_id)
    if attachment is None:
        raise NotFound("附件不存在")
    case = session.get(Case, attachment.case_id)
    if case is None or not permissions.can_view_case(actor, case):
        raise NotFound("附件不存在")
    return attachment


def task_attachments(session: Session, task_id: int) -> list[Attachment]:
    """The files uploaded for a task, oldest first. Unscoped: the caller has checked the reader may
    see the task."""
    return list(session.scalars(select(Attachment).where(Attachment.task_id == task_id).order_by(Attachment.id)))


def reference(attachment: Attachment) -> dict[str, object]:
    """The value a file field carries (workflows/forms.py): the file's hash, name, size and type."""
    return {"sha256": attachment.sha256, "name": attachment.name, "size": attachment.size,
            "content_type": attachment.content_type}
