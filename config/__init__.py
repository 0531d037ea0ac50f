"""Settings. Defaults live here; environment variables override (DATABASE_URL, HUIQIAN_*)."""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_INSTANCE = PROJECT_ROOT / "instance"


class DefaultConfig:
    # The embedded default: one SQLite file in the instance folder.
    DATABASE_URL: str | None = None
    BPMN_DIR: str = os.environ.get("HUIQIAN_BPMN_DIR", str(PROJECT_ROOT / "bpmn"))
    TIMEZONE: str = "Asia/Shanghai"
    HOST: str = "127.0.0.1"
    PORT: int = 5000
    JSON_AS_ASCII = False
    # Requests larger than this are refused with 413 before they are read (API bodies, forms).
    MAX_CONTENT_LENGTH: int = 2 << 20
    API_BODY_MAX_BYTES: int = 1 << 20
    # The task page's form carries evidence files: it alone may be this large (webapp/ui/tasks.py).
    UPLOAD_MAX_CONTENT_LENGTH: int = 25 << 20
    # Evidence files, stored by SHA-256 outside the web root; None: <instance>/attachments.
    ATTACHMENTS_DIR: str | None = None
    # No single evidence file is larger than this, whatever a BPMN field's max-size says.
    ATTACHMENT_MAX_BYTES: int = 20 << 20
    # Sign-in attempts per client address (Flask-Limiter syntax); wrong passwords also lock the
    # account after 10 in a row (workflows/auth.py), whatever the address.
    SIGN_IN_RATE_LIMIT: str = "30 per minute; 300 per hour"
    RATELIMIT_STORAGE_URI: str = "memory://"
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    # The inbox's deadline colours (HUIQIAN_INBOX_DUE_NEAR_DAYS etc.): blue when due within NEAR days,
    # yellow within SOON days or due today, red when overdue. The 即将到期 filter covers NEAR days.
    INBOX_DUE_NEAR_DAYS: int = 7
    INBOX_DUE_SOON_DAYS: int = 2
    # The 督办单 colours of an escalation awaiting its answer (HUIQIAN_ESCALATION_DUE_NEAR_DAYS etc.), as
    # the inbox's but nearer: its deadline is a few working days, not weeks.
    ESCALATION_DUE_NEAR_DAYS: int = 3
    ESCALATION_DUE_SOON_DAYS: int = 1
    # Where a locality colours some rungs differently: {"summon": [5, 2]} gives 约谈 blue within 5 days and
    # yellow within 2 (HUIQIAN_ESCALATION_DUE_DAYS_BY_LEVEL as JSON); rungs not named use the two above.
    ESCALATION_DUE_DAYS_BY_LEVEL: dict = {}  # noqa: RUF012 - a setting, read, never mutated
    # Rows in one XLSX export of the inbox; past it the file says it was cut short.
    INBOX_EXPORT_MAX_ROWS: int = 10_000
    # Notifications beyond the in-app centre (HUIQIAN_SMTP_HOST, HUIQIAN_NOTIFY_WEBHOOK_URL, ...): e-mail to
    # users with an address, and/or a JSON POST per notification to one webhook (a government IM gateway).
    # Unset: the in-app centre only. The worker sends them, retrying up to NOTIFY_MAX_ATTEMPTS times.
    SMTP_HOST: str | None = None
    SMTP_PORT: int = 25
    SMTP_USERNAME: str | None = None
    SMTP_PASSWORD: str | None = None
    SMTP_SENDER: str = "huiqian@localhost"
    SMTP_STARTTLS: bool = False
    NOTIFY_WEBHOOK_URL: str | None = None
    NOTIFY_MAX_ATTEMPTS: int = 5
    # 自动督办 (workflows/auto_escalation.py): [working days overdue, rung, level of the 安居办 in whose
    # name the system raises it], ascending. HUIQIAN_AUTO_ESCALATION='[[3, "urge", "county"]]' replaces
    # it (JSON); [] turns it off.
    AUTO_ESCALATION: tuple = ((3, "urge", "county"), (10, "supervise", "city"), (20, "summon", "province"))
    # Seconds between two passes of the background worker (`huiqian worker`, the demo, Celery beat).
    WORKER_INTERVAL_SECONDS: int = 60
    # Scale-out only: Celery's broker (workflows/celery_app.py). The embedded worker needs none.
    CELERY_BROKER_URL: str = "redis://127.0.0.1:6379/0"


class TestConfig(DefaultConfig):
    TESTING = True


def setting(name: str) -> Any:
    """A setting for code that runs without the web app (the Celery worker): HUIQIAN_<name> parsed as
    JSON where it parses, as the app's from_prefixed_env reads it, else the default above."""
    raw = os.environ.get(f"HUIQIAN_{name}")
    if raw is None:
        return getattr(DefaultConfig, name)
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def instance_path() -> Path:
    return Path(os.environ.get("HUIQIAN_INSTANCE", DEFAULT_INSTANCE))


def database_url(configured: str | None = None) -> str:
    """DATABASE_URL wins, then the configured value, then SQLite under the instance folder."""
    url = os.environ.get("DATABASE_URL") or configured
    if url:
        # Accept the common postgres:// spelling and pick the psycopg 3 driver.
        if url.startswith("postgres://"):
            url = "postgresql://" + url[len("postgres://"):]
        if url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url[len("postgresql://"):]
        return url
    path = instance_path()
    path.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path / 'huiqian.db'}"


def secret_key() -> str:
    """A per-installation secret generated into the instance folder on first use; never in the repo."""
    if os.environ.get("HUIQIAN_SECRET_KEY"):
        return os.environ["HUIQIAN_SECRET_KEY"]
    path = instance_path()
    path.mkdir(parents=True, exist_ok=True)
    key_file = path / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_hex(32))
        key_file.chmod(0o600)
    return key_file.read_text().strip()
