"""Flask application factory: configuration, the database session, sign-in, the REST API (/api/v1),
the pages and the CLI."""

from __future__ import annotations

from typing import Any

from flask import Flask, g
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

from config import DefaultConfig, database_url, instance_path, secret_key
from workflows import db, notifications, processes
from workflows.engine import bootstrap as install_expression_sandbox

# Per-address limits (sign-in). In-memory by default; a deployment with several worker processes
# points HUIQIAN_RATELIMIT_STORAGE_URI at Redis so the workers share the counts.
limiter = Limiter(key_func=get_remote_address, default_limits=[], headers_enabled=True)


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    install_expression_sandbox()  # BPMN expressions never reach eval/exec, whatever was imported before
    app = Flask(__name__, instance_path=str(instance_path()), instance_relative_config=True)
    app.config.from_object(DefaultConfig)
    app.config.from_prefixed_env("HUIQIAN")
    if test_config:
        app.config.update(test_config)
    app.config["DATABASE_URL"] = database_url(app.config.get("DATABASE_URL"))
    app.config.setdefault("SECRET_KEY", None)
    if not app.config["SECRET_KEY"]:
        app.config["SECRET_KEY"] = secret_key()
    app.json.ensure_ascii = False

    engine = db.make_engine(app.config["DATABASE_URL"])
    app.extensions["huiqian"] = {"engine": engine, "sessions": db.make_session_factory(engine)}
    processes.configure(app.config["BPMN_DIR"])
    notifications.configure(notifications.channels_from(app.config.get))

    @app.teardown_appcontext
    def _close_session(_exc: BaseException | None) -> None:
        session = g.pop("db_session", None)
        if session is not None:
            session.close()

    limiter.init_app(app)
    from . import api, auth, ui
    auth.init_app(app)
    ui.init_app(app)
    api.init_app(app)
    from .views import bp
    app.register_blueprint(bp)
    return app


def get_session() -> Any:
    """The request's (or CLI command's) database session, opened on first use."""
    from flask import current_app
    if "db_session" not in g:
        g.db_session = current_app.extensions["huiqian"]["sessions"]()
    return g.db_session
