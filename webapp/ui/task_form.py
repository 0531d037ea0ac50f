"""Reading the task page's form: the fields a task's BPMN declares, as the browser posts them, turned
into the JSON values the service expects (validation is the service's: workflows/forms.py).

Text stays text; an integer or decimal that parses becomes a number, one that does not is passed on
as typed so the service names it; yes/no radios and confirm boxes become booleans; dates stay
"YYYY-MM-DD"; a file field is the {"attachment_id": n} of the file uploaded for it, now or before.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

from flask import current_app
from flask_babel import gettext
from werkzeug.datastructures import FileStorage, ImmutableMultiDict, MultiDict

from models import User
from workflows import attachments
from workflows.engine.specs import CASE_BOUNDS, DEFAULT_ACCEPT, DEFAULT_MAX_SIZE, FormField
from workflows.errors import Invalid

_INTEGER = re.compile(r"[+-]?[0-9]{1,18}")
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
_ID = re.compile(r"[0-9]{1,10}")
NUMBER_TEXT_MAX = 64
UPLOAD_DEFAULT_LIMIT = 25 * 1024 * 1024


def attachment_key(field_key: str) -> str:
    """The hidden input that keeps a file already uploaded for a field across a failed submission."""
    return f"{field_key}__attachment"


def _number(field: FormField, raw: str) -> Any:
    text = raw.strip()
    if len(text) > NUMBER_TEXT_MAX:
        return raw  # refused by the service as too many digits, naming the field
    if field.type == "integer":
        return int(text) if _INTEGER.fullmatch(text) else raw
    if _DECIMAL.fullmatch(text):
        number = float(text)
        return number if math.isfinite(number) else raw
    return raw


def _bound(number: float) -> str:
    return str(int(number)) if float(number).is_integer() else f"{number:g}"


def hint(field: FormField, limit: int | None) -> str:
    """The help line under an input: the BPMN's help text, then what the service will hold it to."""
    parts = [field.help] if field.help else []
    if field.type in ("integer", "decimal"):
        parts.append(gettext("整数") if field.type == "integer" else gettext("数值"))
    low, high = field.minimum, field.maximum
    if low is not None and high is not None:
        parts.append(gettext("取值 %(low)s–%(high)s", low=_bound(low), high=_bound(high)))
    elif low is not None:
        parts.append(gettext("不小于 %(low)s", low=_bound(low)))
    elif high is not None:
        parts.append(gettext("不大于 %(high)s", high=_bound(high)))
    if field.max_case:
        # CASE_BOUNDS names a case column in Chinese; the catalog has the column's label from the pages.
        bound = CASE_BOUNDS.get(field.max_case)
        parts.append(gettext("不超过%(bound)s", bound=gettext(bound) if bound else gettext("案件的相应数值")))
    if limit:
        parts.append(gettext("最多 %(limit)s 字", limit=limit))
    if field.type == "file":
        accept = gettext("、").join(field.accept or DEFAULT_ACCEPT)
        parts.append(gettext("允许 %(accept)s，不超过 %(size)s", accept=accept,
                              size=attachments.size_text(field.max_size or DEFAULT_MAX_SIZE)))
    if field.must_be_true:
        parts.append(gettext("须确认后方可办结"))
    return gettext("；").join(parts)


def read_values(fields: tuple[FormField, ...], form: MultiDict[str, str]) -> dict[str, Any]:
    """The form's values by field key, leaving out what was left empty; files are not read here."""
    values: dict[str, Any] = {}
    for field in fields:
        key = field.key
        if field.type == "file":
            kept = form.get(attachment_key(key), "").strip()
            if _ID.fullmatch(kept):
                values[key] = {"attachment_id": int(kept)}
            continue
        raw = form.get(key)
        if raw is None or not raw.strip():
            continue
        if field.type == "boolean":
            # A confirm box (must-be-true) posts "true" when ticked; radios post "true" or "false".
            values[key] = {"true": True, "false": False}.get(raw.strip(), raw)
        elif field.type in ("integer", "decimal"):
            values[key] = _number(field, raw)
        else:
            values[key] = raw
    return values


def store_files(session: Any, actor: User, task_id: int, fields: tuple[FormField, ...],
                files: ImmutableMultiDict[str, FileStorage], values: dict[str, Any]) -> dict[str, list[str]]:
    """Store each file chosen in the form (workflows/attachments.store_upload) and point its field at
    it; returns the refusals by field key. A field with no new file keeps its earlier upload."""
    errors: dict[str, list[str]] = {}
    for field in fields:
        chosen = files.get(field.key) if field.type == "file" else None
        if chosen is None or not chosen.filename:
            continue
        upload = attachments.Upload(chosen.stream, chosen.filename, chosen.mimetype)
        try:
            stored = attachments.store_upload(session, actor, task_id, field.key, upload,
                                              directory=storage_dir(), max_bytes=attachment_limit())
        except Invalid as exc:
            errors[field.key] = list(exc.errors.get(field.key) or [exc.message])
            values.pop(field.key, None)
        else:
            values[field.key] = {"attachment_id": stored.id}
    return errors


def storage_dir() -> Path:
    """Where evidence files live: ATTACHMENTS_DIR, or <instance>/attachments (never under static/)."""
    configured = current_app.config.get("ATTACHMENTS_DIR")
    return Path(configured) if configured else Path(current_app.instance_path) / "attachments"


def attachment_limit() -> int:
    return int(current_app.config.get("ATTACHMENT_MAX_BYTES") or DEFAULT_MAX_SIZE)


def upload_request_limit() -> int:
    return int(current_app.config.get("UPLOAD_MAX_CONTENT_LENGTH") or UPLOAD_DEFAULT_LIMIT)


def version_of(form: MultiDict[str, str]) -> int | None:
    """The task version the page was drawn at (a stale page gets Stale from the service)."""
    text = form.get("version", "").strip()
    return int(text) if _ID.fullmatch(text) else None
