"""Evidence files: download (/attachments/<id>) for those who may see the case, and the page a
too-large upload gets. Files are served as downloads, never rendered by the browser."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, g, render_template, request, send_file
from flask_babel import gettext
from werkzeug.exceptions import RequestEntityTooLarge

from workflows import attachments
from workflows.errors import NotFound

from .. import get_session
from ..api import errors as api_errors
from . import signed_in
from .task_form import attachment_limit, storage_dir

bp = Blueprint("ui_attachments", __name__)


@bp.errorhandler(NotFound)
def _not_found(error: NotFound) -> Any:
    return render_template("ui/error.html", title=gettext("未找到"), message=error.message), 404


@bp.get("/attachments/<int:attachment_id>")
@signed_in
def download(attachment_id: int) -> Any:
    """The file as an attachment, with its stored type; outside the reader's cases it does not exist."""
    found = attachments.get_attachment(get_session(), g.actor, attachment_id)
    path = attachments.blob_path(storage_dir(), found.sha256)
    if not path.is_file():
        raise NotFound(gettext("附件文件已不在存储中，请联系系统管理员"))
    response = send_file(path, mimetype=found.content_type, as_attachment=True, download_name=found.name,
                         conditional=True, etag=found.sha256, max_age=0)
    response.headers["X-Content-Type-Options"] = "nosniff"
    # Even if a browser were asked to show it, the file gets no script and no access to this site.
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Cache-Control"] = "private, no-cache"
    return response


@bp.app_errorhandler(RequestEntityTooLarge)
def _too_large(error: RequestEntityTooLarge) -> Any:
    """A body past the limit (an upload too big for any field): the API keeps its JSON error; a page
    says in Chinese what happened and what to do."""
    if request.path.startswith("/api/"):
        return api_errors.from_http(error)
    largest = attachments.size_text(attachment_limit())
    return render_template(
        "ui/error.html", title=gettext("上传内容过大"),
        message=gettext("提交的内容过大，未能接收，任务未办结也未暂存。单个附件不能超过 %(largest)s，"
                        "请压缩或拆分扫描件后重新上传（返回上一页时，请核对已填写的内容）。", largest=largest)), 413
