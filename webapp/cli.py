"""The `huiqian` command. Each command parses its input, calls services (never queries itself), prints."""

from __future__ import annotations

import errno
import getpass
import json
import re
import signal
import socket
import subprocess
import sys
import threading
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, NoReturn

import click
from flask import current_app
from flask.cli import FlaskGroup, with_appcontext
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.orm import Session

from models import ESCALATION_LEVELS, USER_ROLES, User
from workflows import auto_escalation, case_queries, db, demo, history, inbox, jobs, processes, tasks, timers
from workflows.engine import bootstrap
from workflows.engine.evaluator import CHINA
from workflows.engine.specs import LIFECYCLE_PROCESS, decode_source, parse_sources, read_directory
from workflows.errors import Forbidden, HuiqianError, ProcessDefinitionError
from workflows.inputs import clean_text, loads_bounded, parse_id, printable
from workflows.users import get_by_username

from . import create_app, get_session


def _fail(message: str, code: int = 1) -> NoReturn:
    # Messages can quote what was typed; keep them one line and encodable (a lone surrogate would make
    # the echo itself raise).
    click.echo(f"错误：{printable(message, 500)}", err=True)
    sys.exit(code)


def _fail_with(exc: HuiqianError) -> NoReturn:
    """One line for the error, then one line per field it names."""
    details = "".join(f"\n  {printable(k, 60)}: {printable('；'.join(v), 500)}" for k, v in exc.errors.items()
                      if v != [exc.message])  # not the headline again
    click.echo(f"错误：{printable(exc.message, 500)}{details}", err=True)
    sys.exit(1)


def _user(session: Session, username: str) -> User:
    # Checked before the lookup: PostgreSQL raises on a NUL or lone surrogate in a query parameter.
    clean_text(username, field="user", label="--user 用户名", max_length=User.__table__.c.username.type.length)
    return get_by_username(session, username)


def _engine():  # noqa: ANN202
    return current_app.extensions["huiqian"]["engine"]


def _bounded_int(value: str | int, label: str, low: int, high: int) -> int:
    """An integer option parsed here rather than by click (type=int), so the refusal is Chinese."""
    text = str(value).strip()
    if not re.fullmatch(r"[+-]?[0-9]{1,9}", text) or not low <= int(text) <= high:
        _fail(f"{label}应为 {low}–{high} 之间的整数（收到：{printable(str(value), 30)}）")
    return int(text)


def _usage_message(exc: click.UsageError) -> str:
    """Click's usage errors, said in Chinese (click ships no Chinese catalogue)."""
    if isinstance(exc, click.NoSuchOption):
        maybe = f"；您是不是要写 {' / '.join(exc.possibilities)}？" if exc.possibilities else ""
        return f"没有选项 {exc.option_name}{maybe}"
    if isinstance(exc, click.exceptions.NoSuchCommand):
        maybe = f"；您是不是要写 {' / '.join(exc.possibilities)}？" if exc.possibilities else ""
        return f"没有命令 {exc.command_name}{maybe}"
    hint = None
    if isinstance(exc, click.BadParameter):
        hint = exc.param_hint or (exc.param.get_error_hint(exc.ctx) if exc.param is not None else None)
        hint = " / ".join(hint) if isinstance(hint, list | tuple) else hint
        hint = hint.replace("'", "") if hint else hint
    if isinstance(exc, click.MissingParameter):
        kind = "参数" if isinstance(exc.param, click.Argument) else "选项"
        return f"缺少{kind} {hint or ''}".rstrip()
    if isinstance(exc, click.BadParameter):
        return f"{hint or '参数'} 的值无效（{exc.message}）"
    if isinstance(exc, click.BadOptionUsage) and "requires an argument" in exc.message:
        return f"选项 {exc.option_name} 后面需要一个值"
    extra = re.fullmatch(r"Got unexpected extra arguments? \((.*)\)", exc.message)
    if extra:
        return f"多余的参数：{extra.group(1)}（含空格或 # 的值请加引号）"
    return f"用法错误（{exc.message}）"


class _ChineseUsageError(click.UsageError):
    def show(self, file: Any = None) -> None:
        click.echo(f"错误：{printable(self.message, 500)}", err=True)
        if self.ctx is not None:
            usage = self.ctx.get_usage().replace("Usage: ", "用法：", 1)
            click.echo(f"{usage}\n运行 {self.ctx.command_path} --help 查看说明。", err=True)


@contextmanager
def _chinese_usage() -> Iterator[None]:
    try:
        yield
    except (click.exceptions.NoArgsIsHelpError, _ChineseUsageError):
        raise
    except click.UsageError as exc:
        raise _ChineseUsageError(_usage_message(exc), exc.ctx) from None


class _Group(FlaskGroup):
    """The `huiqian` group: Flask's, with click's usage errors (unknown option, missing argument…)
    told in Chinese. Both places they arise are covered: parsing the group's own options, and
    resolving and parsing a command's."""

    def make_context(self, *args: Any, **kwargs: Any) -> click.Context:
        with _chinese_usage():
            return super().make_context(*args, **kwargs)

    def invoke(self, ctx: click.Context) -> Any:
        with _chinese_usage():
            try:
                return super().invoke(ctx)
            except (OperationalError, ProgrammingError) as exc:
                _fail(_database_problem(exc))


def _database_problem(exc: Exception) -> str:
    """A database failure a command did not expect, as one sentence (never a traceback): most often a
    database that was never set up."""
    text = str(getattr(exc, "orig", exc)).lower()
    if "no such table" in text or "does not exist" in text and "relation" in text:
        return "数据库尚未建表或版本过旧：请先运行 huiqian init（建立或升级数据库结构）"
    return f"数据库操作失败：{str(getattr(exc, 'orig', exc)).splitlines()[0][:200]}"


@click.group(cls=_Group, create_app=create_app, add_version_option=False,
             help="回迁：棚改逾期未安置案件办理引擎。")
def main() -> None:
    # One explicit start-up for every command (the app factory repeats it, harmlessly): the
    # expression sandbox is in place before anything is parsed, and every history event written by
    # this process says it came from the command line and which operating-system account ran it.
    bootstrap()
    history.set_origin("cli", _os_user())


def _os_user() -> str | None:
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no passwd entry (containers): record nothing rather than fail
        return None


@main.command("init")
@with_appcontext
def init_cmd() -> None:
    """建立或升级数据库结构（Alembic 迁移）。"""
    db.upgrade(_engine())
    click.echo(f"数据库已就绪：{_engine().url.render_as_string(hide_password=True)}")
    _deploy(None)


def _deployer() -> str:
    return f"命令行 {_os_user() or '未知用户'}"


def _deploy(directory: Path | None) -> None:
    try:
        result = processes.deploy(get_session(), directory, deployed_by=_deployer())
    except ProcessDefinitionError as exc:
        _fail(f"流程校验未通过，未部署：{exc}")
    except HuiqianError as exc:
        _fail(exc.message)
    v = result.version
    if result.created:
        click.echo(f"已部署流程版本 v{v.number}（{v.content_hash[:12]}），新立案件将使用此版本。")
    else:
        click.echo(f"流程文件没有变化，当前版本仍为 v{v.number}（{v.content_hash[:12]}）。")


@main.command("deploy-bpmn")
@click.argument("directory", required=False, type=click.Path(file_okay=False, path_type=Path))
@with_appcontext
def deploy_bpmn_cmd(directory: Path | None) -> None:
    """校验并部署流程文件目录（默认项目 bpmn/）为新的流程版本；文件无变化时不产生新版本。"""
    if directory is not None and not directory.is_dir():
        _fail(f"目录不存在：{directory}")
    _deploy(directory)


@main.command("versions")
@with_appcontext
def versions_cmd() -> None:
    """列出已部署的流程版本：文件、校验值、部署人、在办案件数。"""
    rows = processes.list_versions(get_session())
    if not rows:
        click.echo("尚未部署任何流程版本（运行 huiqian deploy-bpmn）。")
        return
    for v in rows:
        when = v.deployed_at.astimezone(CHINA).strftime("%Y-%m-%d %H:%M")
        click.echo(f"v{v.number}  {when}  {v.deployed_by}  在办 {v.open_cases} 件 / 共 {v.all_cases} 件"
                   f"  {v.content_hash[:12]}")
        for name, digest in v.files:
            click.echo(f"     {name:<40} {digest[:12]}")


def _pad(text: str, width: int) -> str:
    """Left-align in terminal columns: a Chinese character takes two."""
    used = sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)
    return text + " " * max(1, width - used)


@main.command("seed-demo")
@click.option("--cases", "count", default="40", show_default=True, help="演示案件数（0–1000）")
@with_appcontext
def seed_demo_cmd(count: str | int) -> None:
    """写入吉林省行政区划、各地部门、各角色用户和演示案件。"""
    number = _bounded_int(count, "--cases 演示案件数", 0, demo.MAX_CASES)
    db.upgrade(_engine())
    _deploy(None)
    session = get_session()
    people = demo.seed_people(session)
    if people:
        click.echo("演示用户（密码只显示这一次，请妥善保存）：")
        click.echo(f"{_pad('用户名', 24)}{_pad('姓名', 28)}{_pad('角色', 12)}{_pad('密码', 16)}部门")
        for p in people:
            click.echo(f"{_pad(p.username, 24)}{_pad(p.display_name, 28)}{_pad(USER_ROLES.get(p.role, p.role), 12)}"
                       f"{_pad(p.password, 16)}{p.agency}")
        by_name = {p.username: p for p in people}
        click.echo("各角色可用以下账号登录（密码见上表）：")
        for username, what in demo.SUGGESTED_ACCOUNTS:
            if username in by_name:
                # Account first: a username such as "admin" after a padded column would read as a role.
                click.echo(f"  {_pad(username, 20)}{_pad(what, 28)}密码 {by_name[username].password}")
    else:
        click.echo("用户已存在，未重新生成密码。")

    def progress(done: int, total: int) -> None:
        click.echo(f"\r演示案件 {done}/{total}", nl=done == total)

    created = demo.seed_cases(session, number, progress=progress)
    click.echo(f"已生成演示案件 {created} 件。" if created else "已有案件，跳过演示案件。")


def _address(host: str | None, port: str | int | None) -> tuple[str, int]:
    """The host and port to serve on, checked: a port in range, and one that can be bound now."""
    app = current_app
    host = app.config["HOST"] if host is None else clean_text(host, field="host", label="--host 监听地址",
                                                             max_length=255)
    number = app.config["PORT"] if port is None else _bounded_int(port, "--port 端口", 1, 65535)
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, number, type=socket.SOCK_STREAM,
                                                             flags=socket.AI_PASSIVE)[0]
    except (OSError, UnicodeError):
        _fail(f"无法识别监听地址 {printable(host, 60)}")
    # Bound and released before anything is seeded or announced, with SO_REUSEADDR as the server
    # itself binds: only a port someone is listening on counts as busy, not one in TIME_WAIT.
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except PermissionError:
            _fail(f"没有权限监听端口 {number}（1024 以下的端口需要管理员权限），请用 --port 换一个端口，如 --port 8080")
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                _fail(f"端口 {number} 已被占用，请用 --port 换一个端口，如 --port {number + 1 if number < 65535 else 8080}")
            _fail(f"无法在 {printable(host, 60)}:{number} 上监听（{exc.strerror or exc}）")
    return host, number


def _url(host: str, port: int) -> str:
    shown = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)
    return f"http://[{shown}]:{port}/" if ":" in shown else f"http://{shown}:{port}/"


def _run_server(host: str, port: int) -> None:
    from werkzeug.serving import run_simple

    # Flask ignores app.run() inside its own CLI, so start the server directly.
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    try:
        run_simple(host, port, app, use_reloader=False, threaded=True)
    except OSError as exc:  # taken between the check and the start
        _fail(f"无法启动网页服务（{exc.strerror or exc}），请用 --port 换一个端口")


@main.command("serve")
@click.option("--host", default=None, help="监听地址（默认 127.0.0.1）")
@click.option("--port", default=None, help="端口 1–65535（默认 5000）")
@with_appcontext
def serve_cmd(host: str | None, port: str | None) -> None:
    """启动网页服务。"""
    _run_server(*_address(host, port))


@main.command("demo")
@click.option("--host", default=None, help="监听地址（默认 127.0.0.1）")
@click.option("--port", default=None, help="端口 1–65535（默认 5000）")
@with_appcontext
@click.pass_context
def demo_cmd(ctx: click.Context, host: str | None, port: str | None) -> None:
    """一键演示：建库、写入演示数据（如尚无）、启动网页服务。"""
    # A busy port is found before the database is touched, not after a minute of seeding.
    address = _address(host, port)
    ctx.invoke(init_cmd)
    ctx.invoke(seed_demo_cmd, count=40)
    click.echo(f"网页地址：{_url(*address)}    接口文档：{_url(*address)}api/v1/docs")
    # The embedded worker beside the server: timers fire and overdue tasks are escalated while the demo
    # runs; its first pass runs in the background, so the server starts at once.
    interval = int(current_app.config["WORKER_INTERVAL_SECONDS"])
    jobs.start_thread(current_app.extensions["huiqian"]["sessions"], interval=interval, policy=_policy())
    click.echo(f"后台任务已在本进程内启动，每 {interval} 秒运行一次（到期时限、自动督办、通知）。")
    _run_server(*address)


def _require_files(paths: tuple[Path, ...]) -> None:
    # Checked here rather than by click.Path(exists=True), whose refusal is English.
    for p in paths:
        if not p.is_file():
            _fail(f"{'不是文件' if p.exists() else '文件不存在'}：{printable(str(p), 200)}")


@main.command("check-bpmn")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@with_appcontext
def check_bpmn_cmd(paths: tuple[Path, ...]) -> None:
    """校验流程文件（默认校验项目全部流程）；有问题时以非零状态退出并指出元素 id。"""
    _require_files(paths)
    try:
        if paths:
            sources = {p.name: decode_source(p.name, p.read_bytes()) for p in paths}
            require_top = any(LIFECYCLE_PROCESS in s for s in sources.values())
        else:
            sources = read_directory(current_app.config["BPMN_DIR"])
            require_top = True
        bundle = parse_sources(sources, xsd=True, require_top=require_top)
    except ProcessDefinitionError as exc:
        _fail(f"流程校验未通过：{exc}")
    click.echo(f"校验通过：{len(sources)} 个文件，{len(bundle.file_of_process)} 个流程，{len(bundle.tasks)} 个人工任务。")


@main.command("tasks")
@click.option("--user", "username", required=True, help="用户名")
@click.option("--view", default="inbox", help="inbox 待办（默认）、mine 我认领的、unclaimed 未认领、completed 已办")
@click.option("--page", "page_text", default="1", help=f"页码（每页 {tasks.INBOX_PAGE} 件，默认第 1 页）")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出")
@with_appcontext
def tasks_cmd(username: str, view: str, page_text: str, as_json: bool) -> None:
    """列出用户的待办任务（或按 --view 列出认领的、未认领的、已办的任务）。"""
    if view not in inbox.VIEWS:
        _fail(f"--view 视图应为 {'、'.join(inbox.VIEWS)} 之一（收到：{printable(view, 30)}）")
    number = _bounded_int(page_text, "--page 页码", 1, 10**7)  # 10^9 rows: past any real list
    session = get_session()
    try:
        user = _user(session, username)
        page = inbox.task_page(session, user, view=view, limit=tasks.INBOX_PAGE, offset=(number - 1) * tasks.INBOX_PAGE)
        metas = tasks.task_metas(session, page.items)
    except HuiqianError as exc:
        _fail_with(exc)
    # A supervisor's inbox spans agencies: say whose each task is (and so whether completing it is 代办).
    rows = [{"task_id": t.id, "version": t.version, "case": t.case.code, "project": t.case.project_name,
             "task": t.name, "bpmn_id": t.bpmn_id, "lane": t.lane, "agency": t.agency.name,
             "agency_role": t.agency.role, "own_agency": t.agency_id == user.agency_id,
             "due_at": t.due_at.astimezone(CHINA).isoformat() if t.due_at else None,
             "fields": [f.as_dict() for f in metas[t.id].fields]} for t in page.items]
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    what = "的待办" if view == "inbox" else f"的任务（{inbox.VIEWS[view]}）"
    more = f"（下一页：--page {page.page + 1}）" if page.offset + page.limit < page.total else ""
    paged = f"第 {page.page} 页，共 " if more or page.page > 1 else ""
    click.echo(f"{user.display_name} {what}：{paged}{page.total} 件{more}")
    for r in rows:
        due = f"  时限 {r['due_at'][:10]}" if r["due_at"] else ""
        whose = "" if r["own_agency"] else f"  → {r['agency']}"
        click.echo(f"  #{r['task_id']}  {r['case']}  {r['project']}  「{r['task']}」{whose}{due}")
        for f in r["fields"]:
            opts = f"（{' / '.join(o['value'] + '=' + o['label'] for o in f['options'])}）" if "options" in f else ""
            click.echo(f"       {f['key']}: {f['label']} [{f['type']}{'，必填' if f['required'] else ''}]{opts}")


def _next_steps(session: Session, actor: User, done: tasks.Completion) -> str:
    """What the process did after a completion, for the operator: whose turn it is now."""
    parts = []
    if done.opened:
        parts.append("下一步：" + "；".join(f"#{o['task_id']}「{o['name']}」→ {o['agency']}" for o in done.opened))
    if done.cancelled:
        parts.append("已撤销：" + "；".join(f"#{c['task_id']}「{c['name']}」" for c in done.cancelled))
    if not done.opened:
        try:
            state = case_queries.case_detail(session, actor, done.task.case_id)
        except HuiqianError:  # whoever may complete a task may read its case; never fail a done completion
            return "。".join(parts)
        waiting = "、".join(f"「{o.task.name}」" for o in state.open_tasks)
        parts.append("流程已结束，案件已销号" if state.case.status == "closed"
                     else f"等待其他并行任务办结：{waiting}" if waiting else "暂无新任务（流程在等待时限或其他事件）")
    return "。".join(parts)


@main.command("complete")
@click.argument("task_id", required=False)
@click.option("--user", "username", default=None, help="办理人用户名（必填）")
@click.option("--data", "data", default="{}", help='表单数据 JSON，如 \'{"verified": true}\'')
@click.option("--on-behalf", "reason", default=None,
              help="代办理由：督办人代其他部门办结任务时必填（法院的审判事项不能代办）")
@with_appcontext
def complete_cmd(task_id: str | None, username: str | None, data: str, reason: str | None) -> None:
    """办结任务。TASK_ID 为待办列表中的编号，如 247 或 '#247'。"""
    # Checked here rather than by click (required=True) so the message is Chinese: an unquoted #247
    # is a comment to the shell, so neither the id nor anything after it arrives.
    if task_id is None:
        _fail("缺少任务编号：请写 247，或加引号写 '#247'（不加引号时 # 及其后的内容会被命令行当作注释）")
    if username is None:
        _fail("缺少 --user 办理人用户名")
    session = get_session()
    try:
        # Both parsed by hand (not click's type=int / json.loads): a Chinese one-line error for any
        # input, and no traceback for 10^30, 5,000 digits or 50,000 nested brackets.
        number = parse_id(task_id, field="task_id", label="任务编号", not_found="任务不存在")
        payload = loads_bounded(data, field="data", label="--data")
        user = _user(session, username)
        done = tasks.complete_task(session, user, number, payload, on_behalf_reason=reason)
    except Forbidden as exc:
        if reason is None and "代办理由" in exc.message:
            _fail(f"{exc.message}（命令行加 --on-behalf '理由'）")
        _fail_with(exc)
    except HuiqianError as exc:
        _fail_with(exc)
    behalf = "（代办）" if done.task.on_behalf_reason else ""
    click.echo(f"已办结任务 #{done.task.id}「{done.task.name}」{behalf}。{_next_steps(session, user, done)}")


TIMER_YEARS = (2000, 2100)


def _parse_now(now_text: str | None) -> datetime | None:
    """--now of `timers` and `tick`: ISO, China time when no zone is given; None: the clock."""
    if not now_text:
        return None
    try:
        now = datetime.fromisoformat(now_text)
    except ValueError:
        _fail(f"--now 不是合法的时间：{printable(now_text, 60)}，示例 2026-10-01T00:00:00+08:00")
    # Far years overflow when shifted between time zones (0001-01-01+08:00 is before year 1 in UTC).
    if not TIMER_YEARS[0] <= now.year <= TIMER_YEARS[1]:
        _fail(f"--now 的年份应在 {TIMER_YEARS[0]}–{TIMER_YEARS[1]} 之间（收到：{printable(now_text, 60)}）")
    return now.replace(tzinfo=CHINA) if now.tzinfo is None else now


@main.command("timers")
@click.option("--now", "now_text", default=None, help="按此时刻触发到期时限（ISO 格式，默认当前时间；无时区按北京时间）")
@with_appcontext
def timers_cmd(now_text: str | None) -> None:
    """触发已到期的流程时限（如第一类9月30日未判决、第二/五类年底回迁）。"""
    run = timers.fire_due_timers(get_session(), _parse_now(now_text))
    click.echo(f"{run.now.astimezone(CHINA).isoformat()}：触发 {len(run.fired)} 个案件的到期时限"
               + (f"，{len(run.conflicts)} 个案件正被修改，下次再处理" if run.conflicts else ""))
    for f in run.fired:
        opened = "、".join(o["name"] for o in f["opened"]) or "无"
        click.echo(f"  {f['case_code']}：新任务 {opened}")


def _echo_pass(result: jobs.PassResult) -> None:
    click.echo(result.summary())
    for f in result.timers.fired:
        opened = "、".join(o["name"] for o in f["opened"]) or "无"
        click.echo(f"  {f['case_code']}：时限到期，新任务 {opened}")
    for e in result.escalations.raised:
        click.echo(f"  {e['case_code']}：自动{ESCALATION_LEVELS[e['level']]}「{e['task']}」"
                   f"（逾期 {e['overdue_workdays']} 个工作日）")
    for f in result.timers.failed:
        click.echo(f"  {f['case_code']}：时限触发失败，{f['retry_at'].astimezone(CHINA):%Y-%m-%d %H:%M} 重试："
                   f"{printable(f['error'], 200)}")
    for f in result.escalations.failed:
        click.echo(f"  任务 #{f['task_id']}：自动督办失败：{printable(f['error'], 200)}")


def _policy() -> tuple:
    try:
        return auto_escalation.parse_policy(current_app.config["AUTO_ESCALATION"])
    except HuiqianError as exc:
        _fail_with(exc)


@main.command("tick")
@click.option("--now", "now_text", default=None, help="按此时刻运行（ISO 格式，默认当前时间；无时区按北京时间）")
@with_appcontext
def tick_cmd(now_text: str | None) -> None:
    """运行一次后台任务：触发到期的流程时限，检查办理时限并按规则自动催办、督办、约谈。"""
    now = _parse_now(now_text)
    _echo_pass(jobs.run_pass(get_session(), now, _policy()))


@main.command("worker")
@click.option("--interval", "interval_text", default=None,
              help="两次运行之间的秒数（1–86400，默认取配置 WORKER_INTERVAL_SECONDS，即 60）")
@with_appcontext
def worker_cmd(interval_text: str | None) -> None:
    """后台任务常驻运行（无需消息队列）：每隔一段时间运行一次 tick；Ctrl+C 或 SIGTERM 在本次运行结束后退出。"""
    interval = _bounded_int(interval_text if interval_text is not None
                            else current_app.config["WORKER_INTERVAL_SECONDS"], "--interval 间隔秒数", 1, 86400)
    policy = _policy()
    stop = threading.Event()

    def _stop(signum: int, _frame: Any) -> None:
        click.echo(f"收到{'中断' if signum == signal.SIGINT else '停止'}信号，本次运行结束后退出。")
        stop.set()

    previous = {sig: signal.signal(sig, _stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    click.echo(f"后台任务已启动：每 {interval} 秒运行一次（{_engine().url.render_as_string(hide_password=True)}）")
    try:
        passes = jobs.run_forever(current_app.extensions["huiqian"]["sessions"], interval=interval, stop=stop,
                                  policy=policy, report=_echo_pass)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    click.echo(f"后台任务已停止，共运行 {passes} 次。")


# A design-time tool (Node.js + elkjs), run as a separate process rather than imported: the
# application itself never needs it, and a checkout without tools/ still runs.
LAYOUT_TOOL = Path(__file__).resolve().parent.parent / "tools" / "layout_bpmn.py"


@main.command("layout-bpmn")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
def layout_bpmn_cmd(paths: tuple[Path, ...]) -> None:
    """为流程文件重新生成图形布局（BPMNDI），不改动流程逻辑（需要 Node.js；首次运行会用 npm 安装 tools/ 的依赖）。"""
    _require_files(paths)
    if not LAYOUT_TOOL.is_file():
        _fail(f"找不到布局工具 {LAYOUT_TOOL}（它只随源码仓库提供）")
    done = subprocess.run([sys.executable, str(LAYOUT_TOOL), "--json", *map(str, paths)],
                          capture_output=True, text=True, encoding="utf-8")
    if done.returncode != 0:
        _fail("布局失败：" + (done.stderr.strip() or done.stdout.strip()))
    for p, changed in json.loads(done.stdout).items():
        click.echo(f"{p}: {'已更新' if changed else '无变化'}")


@main.command("reclassify")
@click.argument("code")
@click.option("--to", "category", required=True, help="新类别 1–9")
@click.option("--reason", required=True, help="改类理由（必填，写明此前的办理情况和改类依据）")
@click.option("--user", "username", required=True, help="市级或省级督办人用户名")
@with_appcontext
def reclassify_cmd(code: str, category: str, reason: str, username: str) -> None:
    """改变案件类别：撤销正在办理的类别流程，按新类别重新办理（市、省督办人）。"""
    from workflows import cases, reclassification
    session = get_session()
    try:
        user = _user(session, username)
        case = cases.get_case_by_code(session, user, code)
        moved = reclassification.reclassify(session, user, case.id, category, reason)
        stages = reclassification.case_processes(session, user, case.id)
    except HuiqianError as exc:
        _fail_with(exc)
    click.echo(f"案件 {moved.case.code} 已由第{moved.attempt['category']}类（{moved.attempt['label']}）"
               f"改为第{moved.case.category}类（{moved.case.category_label}）。")
    for c in moved.cancelled:
        click.echo(f"  已撤销：#{c['task_id']}「{c['name']}」")
    for o in moved.opened:
        click.echo(f"  新任务：#{o['task_id']}「{o['name']}」→ {o['agency']}")
    click.echo("办理经过：" + " → ".join(s.describe() for s in stages))


@main.command("migrate-cases")
@click.option("--to", "to_number", required=True, type=int, help="目标流程版本号（见 huiqian versions）")
@click.option("--case", "case_codes", multiple=True, help="只迁移这些案件（案件编号，可重复）；默认所有旧版本上的在办案件")
@click.option("--dry-run", is_flag=True, help="只报告每个案件将如何处理，不做任何修改")
@with_appcontext
def migrate_cases_cmd(to_number: int, case_codes: tuple[str, ...], dry_run: bool) -> None:
    """将在办案件迁移到新部署的流程版本：正在办理的任务保留（编号、认领人、时限不变）。

    新版本删除了案件正在办理的任务等情形，该案件拒绝迁移并说明原因，其余案件照常迁移；
    全部可迁移的案件都已迁移时退出码为 0（拒绝迁移的案件逐条列出），有案件迁移失败时为 1。
    """
    from workflows import migration
    try:
        results = migration.migrate_cases(get_session(), None, to_number, list(case_codes) or None, dry_run=dry_run)
    except HuiqianError as exc:
        _fail_with(exc)
    click.echo(f"{'试运行（不做修改）：' if dry_run else ''}迁移至流程版本 v{to_number}，共 {len(results)} 个案件")
    for r in results:
        source = f"v{r.from_number}" if r.from_number is not None else "—"
        line = f"  {printable(r.case_code, 64)}  {source} → v{r.to_number}  {r.status_label}"
        if r.reason:
            line += f"：{printable(r.reason, 500)}"
        opened = "、".join(o["name"] for o in r.opened)
        if opened:
            line += f"（{'将' if dry_run else ''}新下达：{opened}）"
        cancelled = "、".join(o["name"] for o in r.cancelled)
        if cancelled:
            line += f"（{'将' if dry_run else ''}撤销：{cancelled}）"
        click.echo(line)
        if dry_run:
            for change in r.changed:  # what differs in the processes this case runs
                parts = [f"{label} {'、'.join(change[key])}" for key, label in
                         (("added", "新增"), ("removed", "删除"), ("changed", "修改")) if change.get(key)]
                click.echo(f"      {change['process']}：{'；'.join(parts) or '新版本中不存在'}")
    counts = {status: sum(r.status == status for r in results) for status in migration.STATUS_LABELS}
    click.echo("合计：" + ("，".join(f"{label} {counts[status]} 件"
                                   for status, label in migration.STATUS_LABELS.items() if counts[status])
                         or "没有需要迁移的案件"))
    if counts["failed"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
