"""Every /api error as JSON {"code", "message", "errors"}: the project's error types and HTTP errors
mapped to statuses in one place. No HTML, no stack trace; Chinese messages with a stable English code."""

from __future__ import annotations

import logging
from typing import Any

from flask import Response, jsonify, request
from werkzeug.exceptions import HTTPException

from workflows import errors as e
from workflows.inputs import printable

log = logging.getLogger("huiqian.api")

STATUS: dict[type[e.HuiqianError], int] = {
    e.Invalid: 422,
    e.Unauthenticated: 401,
    e.Forbidden: 403,
    e.NotFound: 404,
    e.Stale: 412,
    e.Busy: 409,
    e.Conflict: 409,
    e.ProcessDefinitionError: 422,
    e.ProcessError: 409,
    e.Unavailable: 503,
}

HTTP_MESSAGES: dict[int, tuple[str, str]] = {
    400: ("bad_request", "请求格式不正确"),
    401: ("unauthenticated", "请先登录"),
    403: ("forbidden", "无权执行此操作"),
    404: ("not_found", "请求的资源不存在"),
    405: ("method_not_allowed", "不支持该请求方法"),
    406: ("not_acceptable", "无法提供所请求的格式"),
    409: ("conflict", "与当前状态冲突，请刷新后重试"),
    412: ("stale", "数据已被他人修改（If-Match 不匹配），请刷新后重试"),
    413: ("too_large", "请求内容过大"),
    415: ("unsupported_media_type", "请求内容须为 JSON（Content-Type: application/json）"),
    422: ("invalid", "请求参数有误"),
    428: ("precondition_required", "此操作须带 If-Match 请求头"),
    429: ("too_many_requests", "请求过于频繁，请稍后再试"),
    500: ("internal_error", "服务器内部错误，已记录，请稍后重试"),
    503: ("unavailable", "服务暂时不可用，请稍后重试"),
}

# marshmallow's and webargs' English messages, as a Chinese user should read them.
_FIELD_MESSAGES = {
    "Missing data for required field.": "必填",
    "Field may not be null.": "不能为空（null）",
    "Unknown field.": "不是可接受的字段",
    "Not a valid integer.": "应为整数",
    "Not a valid number.": "应为数字",
    "Not a valid string.": "应为文本",
    "Not a valid boolean.": "应为 true 或 false",
    "Not a valid date.": "应为日期（YYYY-MM-DD）",
    "Not a valid datetime.": "应为日期时间（ISO 8601）",
    "Not a valid mapping type.": "应为 JSON 对象",
    "Not a valid list.": "应为列表",
    "Invalid input type.": "类型不正确",
    "Special numeric values (nan or infinity) are not permitted.": "不能为 NaN 或 Infinity",
    "Invalid value.": "取值无效",
    "Number too large.": "数值过大",
}


def _translate(message: str) -> str:
    if message in _FIELD_MESSAGES:
        return _FIELD_MESSAGES[message]
    if message.startswith("Must be one of:"):
        return "取值不在允许范围内：" + message.removeprefix("Must be one of:").strip().rstrip(".")
    if message.startswith("Must be greater than or equal to") and "less than or equal to" in message:
        low, high = message.removeprefix("Must be greater than or equal to").split("and less than or equal to")
        return f"应在 {low.strip()} 到 {high.strip().rstrip('.')} 之间"
    if message.startswith("Must be greater than or equal to"):
        return "不能小于 " + message.removeprefix("Must be greater than or equal to").strip().rstrip(".")
    if message.startswith("Must be less than or equal to"):
        return "不能大于 " + message.removeprefix("Must be less than or equal to").strip().rstrip(".")
    if message.startswith("Longer than maximum length"):
        return "过长（最多 " + message.removeprefix("Longer than maximum length").strip().rstrip(".") + " 个字符）"
    if message.startswith("Shorter than minimum length"):
        return "过短（至少 " + message.removeprefix("Shorter than minimum length").strip().rstrip(".") + " 个字符）"
    if message.startswith("Length must be between"):
        return "长度应在 " + message.removeprefix("Length must be between").strip().rstrip(".").replace(" and ", "–") + " 之间"
    return message


def _flatten(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """webargs' {"json": {"data": {"x": ["..."]}}} → {"data.x": ["..."]}, messages in Chinese."""
    out: dict[str, list[str]] = {}
    if isinstance(messages, dict):
        for key, value in messages.items():
            # A field name is the client's own text: a lone surrogate in it would make the JSON body
            # unencodable (a 500), so echo it the way every other message echoes user text.
            name = printable(str(key), 100)
            if not prefix and name in ("json", "query", "querystring", "headers", "view_args", "form", "files"):
                out.update(_flatten(value, ""))
            else:
                out.update(_flatten(value, f"{prefix}.{name}" if prefix else name))
    elif isinstance(messages, list | tuple):
        texts = [m for m in messages if isinstance(m, str)]
        nested = [m for m in messages if isinstance(m, dict)]
        if texts:
            out[prefix or "_"] = [_translate(t) for t in texts]
        for item in nested:
            out.update(_flatten(item, prefix))
    elif isinstance(messages, str):
        out[prefix or "_"] = [_translate(messages)]
    return out


def body(code: str, message: str, errors: dict[str, list[str]] | None = None, status: int = 400,
         headers: dict[str, str] | None = None, **extra: Any) -> Response:
    response = jsonify({"code": code, "message": message, "errors": errors or {}, **extra})
    response.status_code = status
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def from_service(error: e.HuiqianError) -> Response:
    status = next((s for cls, s in STATUS.items() if isinstance(error, cls)), 400)
    extra: dict[str, Any] = {}
    if isinstance(error, e.Stale) and error.current_version is not None:
        extra["current_version"] = error.current_version
    if isinstance(error, e.Unauthenticated) and error.locked_until is not None:
        extra["locked_until"] = error.locked_until.isoformat()
    return body(error.code, error.message, error.errors, status, **extra)


def from_http(error: HTTPException) -> Response:
    status = error.code or 500
    code, message = HTTP_MESSAGES.get(status, ("error", error.name))
    data = getattr(error, "data", None) or {}
    errors: dict[str, list[str]] = {}
    if "messages" in data:
        errors = _flatten(data["messages"])
        if errors:
            first_field, first = next(iter(errors.items()))
            more = f"（另有 {len(errors) - 1} 项有误）" if len(errors) > 1 else ""
            message = f"请求参数有误：{first_field} {first[0]}{more}"
    if "message" in data:
        message = data["message"]
    if "errors" in data:
        errors = data["errors"]
    if status == 429:
        # Flask-Limiter's description is the route's own Chinese message when it set one, else the
        # bare limit ("3 per 1 minute"), which only makes sense appended to the generic message.
        limit = getattr(error, "limit", None)
        if limit is not None and getattr(limit, "error_message", None) and error.description:
            message = error.description
        elif error.description:
            message = f"请求过于频繁，请稍后再试（限制：{error.description}）"
    headers = dict(data.get("headers") or {})
    if status == 405 and hasattr(error, "valid_methods") and error.valid_methods:
        headers["Allow"] = ", ".join(error.valid_methods)
    return body(code, message, errors, status, headers)


def unexpected(error: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.path)
    code, message = HTTP_MESSAGES[500]
    return body(code, message, {}, 500)
