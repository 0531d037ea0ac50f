"""The REST API under /api/v1: flask-smorest blueprints, one module per resource, with the OpenAPI
document generated from the code at /api/v1/openapi.json and its interactive page at /api/v1/docs
(Swagger UI served from the app itself: deployments are often on closed networks)."""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app, request
from flask_smorest import Api
from flask_smorest import Blueprint as SmorestBlueprint
from webargs.flaskparser import FlaskParser
from werkzeug.exceptions import HTTPException

from workflows import inputs
from workflows.errors import HuiqianError, Invalid

from ..schemas.common import ErrorSchema
from . import errors

PREFIX = "/api/v1"
# API bodies are small JSON documents: a case, a task's form. Deeper than this is an attack.
BODY_MAX_DEPTH = 16


class BoundedParser(FlaskParser):
    """JSON bodies parsed by workflows.inputs.loads_bounded: a 1000-deep body, NaN, 1e400 or a
    5,000-digit number is refused with 400 naming the field, never a RecursionError or a stored NaN."""

    def _raw_load_json(self, req: Any) -> Any:
        if not req.mimetype or not (req.mimetype == "application/json" or req.mimetype.endswith("+json")):
            from webargs import core
            return core.missing
        raw = req.get_data(cache=True)  # past MAX_CONTENT_LENGTH this raises 413
        if not raw:
            from webargs import core
            return core.missing
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise BadBody("请求内容不是 UTF-8 编码的 JSON", {"_": ["不是 UTF-8 编码"]}) from None
        try:
            return inputs.loads_bounded(text, max_bytes=current_app.config["API_BODY_MAX_BYTES"],
                                        max_depth=BODY_MAX_DEPTH, field="body", label="请求内容")
        except Invalid as exc:
            raise BadBody(exc.message, exc.errors) from None


class BadBody(Exception):
    """A body that is not acceptable JSON at all: 400, before any field is looked at."""

    def __init__(self, message: str, errors: dict[str, list[str]]) -> None:
        super().__init__(message)
        self.message = message
        self.errors = errors


class Blueprint(SmorestBlueprint):
    ARGUMENTS_PARSER = BoundedParser()


class HuiqianApi(Api):
    """flask-smorest's Api with errors in the project's shape, and only for /api paths: the web pages
    keep their own error pages."""

    ERROR_SCHEMA = ErrorSchema

    def _register_error_handlers(self) -> None:
        app = self._app
        app.register_error_handler(HuiqianError, _service_error)
        app.register_error_handler(BadBody, lambda exc: errors.body("bad_request", exc.message, exc.errors, 400))
        app.register_error_handler(HTTPException, _http_error)
        app.register_error_handler(Exception, _unexpected)


def _is_api() -> bool:
    return request.path.startswith("/api/")


_PAGE_TITLES = {401: "请先登录", 403: "无权访问", 404: "页面不存在", 409: "操作冲突", 412: "数据已变化",
                422: "输入有误", 503: "服务暂时不可用"}


def _service_error(error: HuiqianError) -> Any:
    response = errors.from_service(error)
    if _is_api():
        return response
    # A page: the same status, told as a page (a NotFound outside scope reads like any missing page).
    from flask import render_template
    status = response.status_code
    return render_template("ui/error.html", title=_PAGE_TITLES.get(status, "出错了"),
                           message=error.message), status


def _http_error(error: HTTPException) -> Any:
    return errors.from_http(error) if _is_api() else error


def _unexpected(error: Exception) -> Any:
    if isinstance(error, HTTPException):
        return _http_error(error)
    if not _is_api():
        raise error
    return errors.unexpected(error)


def init_app(app: Flask) -> Api:
    app.config.setdefault("API_TITLE", "回迁 huiqian API")
    app.config.setdefault("API_VERSION", "v1")
    app.config.setdefault("OPENAPI_VERSION", "3.0.3")
    app.config.setdefault("OPENAPI_URL_PREFIX", PREFIX)
    app.config.setdefault("OPENAPI_JSON_PATH", "openapi.json")
    app.config.setdefault("API_BODY_MAX_BYTES", 1 << 20)
    app.config.setdefault("API_SPEC_OPTIONS", {
        "info": {"description": "棚改逾期未安置案件办理接口。浏览器会话（POST /api/v1/session）或个人接口令牌"
                                "（Authorization: Bearer hq_…）均可认证。错误统一为 "
                                "{\"code\", \"message\", \"errors\"}。"},
        "components": {"securitySchemes": {
            "token": {"type": "http", "scheme": "bearer", "description": "个人接口令牌 hq_…"},
            "session": {"type": "apiKey", "in": "cookie", "name": "session"}}},
        "security": [{"token": []}, {"session": []}],
    })
    api = HuiqianApi(app)
    from . import docs, session
    for module in (session,):
        api.register_blueprint(module.blp, url_prefix=PREFIX)
    app.register_blueprint(docs.bp)
    _register_resources(api)
    return api


def _register_resources(api: Api) -> None:
    """Each resource module that exists registers itself; modules land one issue slice at a time."""
    import importlib
    for name in ("cases", "tasks", "task_operations", "history", "admin", "escalations", "extensions",
                 "notifications", "schedule", "signoff", "copies", "delegation", "away"):
        try:
            module = importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"{__name__}.{name}":
                continue
            raise
        for blp in getattr(module, "blueprints", None) or [module.blp]:
            api.register_blueprint(blp, url_prefix=PREFIX)
