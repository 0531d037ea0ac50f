"""Validating submitted task data against the fields a BPMN user task declares."""

from __future__ import annotations

import re
from typing import Any

from models import Case

from . import inputs
from .engine.specs import DEFAULT_ACCEPT, DEFAULT_MAX_SIZE, FILE_TYPES, FormField
from .errors import Invalid

_TEXT_MAX = {"text": 200, "textarea": 5000}
# Forms declare a handful of fields; past this the payload is not a form, and each unknown key would
# otherwise cost a lookup and an error line.
_MAX_KEYS = 100
_TRUE = {"true", "1", "yes", "是"}
_FALSE = {"false", "0", "no", "否"}


def _text_limit(field: FormField) -> int:
    limit = _TEXT_MAX[field.type]
    if field.case_field:
        # The value is copied into a case column: SQLite would keep an over-long value silently and
        # PostgreSQL would refuse it mid-transaction, so hold it to the column's length here.
        length = getattr(Case.__table__.c[field.case_field].type, "length", None)
        if length:
            limit = min(limit, length)
    return limit


# What a file field's value is: a reference to a file already uploaded (the storage comes with the web
# UI), by content hash, so the task's record names exactly the document a verifier will open.
_FILE_KEYS = ("sha256", "name", "size", "content_type")
_SHA256 = re.compile(r"[0-9a-fA-F]{64}")
_FILE_NAME_MAX = 255
_CONTENT_TYPE_MAX = 100


def _size_text(size: int) -> str:
    return f"{size >> 20} MB" if size % (1 << 20) == 0 else f"{size} 字节"


def _file_reference(field: FormField, value: Any) -> dict[str, Any]:
    """The reference as stored: {sha256 (lower-case hex), name, size, content_type}, or Invalid."""
    key, label = field.key, field.label
    if not isinstance(value, dict):
        inputs.refuse(key, label, "应为已上传文件的引用（含 sha256、name、size、content_type）")
    missing = [k for k in _FILE_KEYS if k not in value]
    extra = [k for k in value if k not in _FILE_KEYS]
    if extra:
        shown = "、".join(inputs.printable(k, 20) for k in extra[:5])
        inputs.refuse(key, label, f"文件引用含有未知项 {shown}（只能包含 sha256、name、size、content_type）")
    if missing:
        inputs.refuse(key, label, f"文件引用缺少 {'、'.join(missing)}")
    digest = value["sha256"]
    if not isinstance(digest, str) or not _SHA256.fullmatch(digest):
        inputs.refuse(key, label, "文件校验码 sha256 应为 64 位十六进制字符")
    name = inputs.clean_text(value["name"], field=key, label=f"{label}（文件名）", max_length=_FILE_NAME_MAX)
    if not name or "/" in name or "\\" in name:
        inputs.refuse(key, label, "文件名无效（应为不含路径的文件名）")
    size = value["size"]
    if isinstance(size, bool) or not isinstance(size, int):
        inputs.refuse(key, label, "文件大小应为字节数（整数）")
    limit = field.max_size or DEFAULT_MAX_SIZE  # a field built in code without limits gets the loader's defaults
    if size > limit:
        inputs.refuse(key, label, f"文件过大（不能超过 {_size_text(limit)}）")
    if size < 1:
        inputs.refuse(key, label, "文件为空" if size == 0 else "文件大小应为正整数字节数")
    accept = field.accept or DEFAULT_ACCEPT
    allowed = "、".join(accept)
    content_type = value["content_type"]
    if not isinstance(content_type, str) or len(content_type) > _CONTENT_TYPE_MAX:
        inputs.refuse(key, label, f"文件类型无效（允许：{allowed}）")
    # Browsers may append parameters ("application/pdf; charset=binary"); the type is what is checked.
    content_type = content_type.split(";", 1)[0].strip().lower()
    extension = name[name.rfind("."):].lower() if "." in name else ""
    if extension not in accept:
        inputs.refuse(key, label, f"文件类型不允许（允许：{allowed}）")
    if content_type not in FILE_TYPES[extension]:
        # A .pdf name on an image, or a type the field does not take: either way not the declared kind.
        inputs.refuse(key, label, f"文件类型 {inputs.printable(content_type, 40)} 与文件名 {extension} 不符"
                                  f"（允许：{allowed}）")
    return {"sha256": digest.lower(), "name": name, "size": size, "content_type": content_type}


def _coerce(field: FormField, value: Any) -> Any:
    key, label = field.key, field.label
    if field.type == "file":
        return _file_reference(field, value)
    if isinstance(value, dict | list | tuple | set | frozenset):
        # Every field holds one value; a nested structure (possibly thousands deep) is refused before
        # anything walks or prints it.
        inputs.refuse(key, label, "应为单个值，不能是列表或对象")
    if field.type in ("text", "textarea"):
        return inputs.clean_text(value, field=key, label=label, max_length=_text_limit(field),
                                 multiline=field.type == "textarea")
    if field.type in ("integer", "decimal"):
        return inputs.finite_number(value, field=key, label=label, integer=field.type == "integer",
                                    minimum=field.minimum, maximum=field.maximum)
    if field.type == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
        if isinstance(value, str) and len(value) <= 16:
            word = value.strip().lower()
            if word in _TRUE:
                return True
            if word in _FALSE:
                return False
        inputs.refuse(key, label, "应为“是”或“否”")
    if field.type == "date":
        return inputs.sane_date(value, field=key, label=label).isoformat()
    if field.type == "enum":
        allowed = [v for v, _ in field.options]
        text = value if isinstance(value, str) else None
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) <= inputs.INT64_MAX:
            text = str(value)  # an option value typed as a number; huge ints would make str() raise
        if text not in allowed:
            labels = "、".join(lbl for _, lbl in field.options)
            inputs.refuse(key, label, f"不在可选项内（可选：{labels}）")
        return text
    inputs.refuse(key, label, "未知字段类型")


def validate(fields: tuple[FormField, ...], data: dict[str, Any]) -> dict[str, Any]:
    """Return the cleaned values, or raise Invalid naming every bad field. Unknown keys are refused."""
    if not isinstance(data, dict):
        raise Invalid("表单数据应为对象", errors={"_": ["表单数据应为 JSON 对象"]})
    if len(data) > _MAX_KEYS:
        raise Invalid("表单字段过多", errors={"_": [f"表单字段过多（超过 {_MAX_KEYS} 个）"]})
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, Any] = {}
    known = {f.key for f in fields}
    for key in data:
        if key not in known:
            # The key is the sender's own text: echo it only in a bounded, printable form.
            shown = inputs.printable(key, 40)
            errors.setdefault(shown, []).append(f"{shown}：该任务没有此字段")
    for field in fields:
        raw = data.get(field.key)
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            if field.must_be_true:
                errors.setdefault(field.key, []).append(f"{field.label}：必须确认")
            elif field.required:
                errors.setdefault(field.key, []).append(f"{field.label}：必填")
            continue
        try:
            cleaned[field.key] = _coerce(field, raw)
        except Invalid as exc:
            errors.setdefault(field.key, []).extend(exc.errors.get(field.key) or [exc.message])
            continue
        if field.must_be_true and cleaned[field.key] is not True:
            # "否" is an answer, but not one the agreement may carry: the content must be there.
            errors.setdefault(field.key, []).append(f"{field.label}：必须确认")
    if errors:
        # One line that names the first bad field by its label; `errors` carries the rest.
        first = next(iter(errors.values()))[0]
        more = f"（另有 {len(errors) - 1} 个字段有误）" if len(errors) > 1 else ""
        raise Invalid(f"表单校验未通过：{first}{more}", errors=errors)
    return cleaned
