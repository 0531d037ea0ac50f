"""The interactive API page (/api/v1/docs), Swagger UI vendored under static/vendor/swagger-ui."""

from __future__ import annotations

from flask import Blueprint, render_template

bp = Blueprint("api-page", __name__, url_prefix="/api/v1")


@bp.get("/docs")
def page() -> str:
    return render_template("api/docs.html")
