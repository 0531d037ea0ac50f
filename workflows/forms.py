"""Validating submitted task data against the fields a BPMN user task declares."""

from __future__ import annotations

from typing import Any

from models import Case

from . import inputs
from .engine.specs import FormField
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


def _coerce(field: FormField, value: Any) -> Any:
    key, label = field.key, field.label
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
            if field.required:
                errors.setdefault(field.key, []).append(f"{field.label}：必填")
            continue
        try:
            cleaned[field.key] = _coerce(field, raw)
        except Invalid as exc:
            errors.setdefault(field.key, []).extend(exc.errors.get(field.key) or [exc.message])
    if errors:
        # One line that names the first bad field by its label; `errors` carries the rest.
        first = next(iter(errors.values()))[0]
        more = f"（另有 {len(errors) - 1} 个字段有误）" if len(errors) > 1 else ""
        raise Invalid(f"表单校验未通过：{first}{more}", errors=errors)
    return cleaned
