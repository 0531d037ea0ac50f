"""Validating submitted task data against the fields a BPMN user task declares."""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from .engine.specs import FormField
from .errors import Invalid

_TRUE = {True, "true", "1", "yes", "是"}
_FALSE = {False, "false", "0", "no", "否"}


def _coerce(field: FormField, value: Any) -> Any:
    if field.type in ("text", "textarea"):
        if not isinstance(value, str):
            raise ValueError("应为文本")
        value = value.strip()
        if len(value) > (200 if field.type == "text" else 5000):
            raise ValueError("内容过长")
        return value
    if field.type == "integer":
        if isinstance(value, bool) or not (isinstance(value, int) or (isinstance(value, str) and value.strip().lstrip("-").isdigit())):
            raise ValueError("应为整数")
        return int(value)
    if field.type == "decimal":
        if isinstance(value, bool):
            raise ValueError("应为数值")
        try:
            number = Decimal(str(value).strip())
        except InvalidOperation:
            raise ValueError("应为数值") from None
        if not number.is_finite():
            raise ValueError("应为数值")
        return float(number)
    if field.type == "boolean":
        if value in _TRUE and not (isinstance(value, int) and not isinstance(value, bool) and value not in (0, 1)):
            return True
        if value in _FALSE:
            return False
        raise ValueError("应为“是”或“否”")
    if field.type == "date":
        try:
            return date.fromisoformat(str(value).strip()).isoformat()
        except ValueError:
            raise ValueError("应为日期，格式 YYYY-MM-DD") from None
    if field.type == "enum":
        allowed = [v for v, _ in field.options]
        if str(value) not in allowed:
            labels = "、".join(lbl for _, lbl in field.options)
            raise ValueError(f"不在可选项内（可选：{labels}）")
        return str(value)
    raise ValueError("未知字段类型")


def validate(fields: tuple[FormField, ...], data: dict[str, Any]) -> dict[str, Any]:
    """Return the cleaned values, or raise Invalid naming every bad field. Unknown keys are refused."""
    if not isinstance(data, dict):
        raise Invalid("表单数据应为对象", errors={"_": ["表单数据应为 JSON 对象"]})
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, Any] = {}
    known = {f.key for f in fields}
    for key in data:
        if key not in known:
            errors.setdefault(key, []).append("该任务没有此字段")
    for field in fields:
        raw = data.get(field.key)
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            if field.required:
                errors.setdefault(field.key, []).append(f"{field.label}：必填")
            continue
        try:
            value = _coerce(field, raw)
        except ValueError as exc:
            errors.setdefault(field.key, []).append(f"{field.label}：{exc}")
            continue
        if field.type in ("integer", "decimal"):
            if field.minimum is not None and value < field.minimum:
                errors.setdefault(field.key, []).append(f"{field.label}：不能小于 {field.minimum:g}")
                continue
            if field.maximum is not None and value > field.maximum:
                errors.setdefault(field.key, []).append(f"{field.label}：不能大于 {field.maximum:g}")
                continue
        cleaned[field.key] = value
    if errors:
        first = next(iter(errors))
        raise Invalid(f"表单校验未通过：{first}", errors=errors)
    return cleaned
