"""The `huiqian` command. Each command parses its input, calls one service function, prints."""

from __future__ import annotations

import getpass
import json
import sys
from datetime import datetime
from pathlib import Path
from typing import NoReturn

import click
from flask import current_app
from flask.cli import FlaskGroup, with_appcontext
from sqlalchemy.orm import Session

from models import User
from workflows import db, demo, history, processes, tasks, timers
from workflows.engine import bootstrap
from workflows.engine.evaluator import CHINA
from workflows.engine.specs import LIFECYCLE_PROCESS, parse_sources, read_directory
from workflows.errors import HuiqianError, ProcessDefinitionError
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


@click.group(cls=FlaskGroup, create_app=create_app, add_version_option=False,
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


@main.command("seed-demo")
@click.option("--cases", "count", default=40, show_default=True, help="演示案件数")
@with_appcontext
def seed_demo_cmd(count: int) -> None:
    """写入吉林省行政区划、各地部门、各角色用户和演示案件。"""
    db.upgrade(_engine())
    _deploy(None)
    session = get_session()
    people = demo.seed_people(session)
    if people:
        click.echo("演示用户（密码只显示这一次，请妥善保存）：")
        click.echo(f"{'用户名':<24}{'角色':<12}{'密码':<16}部门")
        for p in people:
            click.echo(f"{p.username:<27}{p.role:<14}{p.password:<18}{p.agency}")
    else:
        click.echo("用户已存在，未重新生成密码。")

    def progress(done: int, total: int) -> None:
        click.echo(f"\r演示案件 {done}/{total}", nl=done == total)

    created = demo.seed_cases(session, count, progress=progress)
    click.echo(f"已生成演示案件 {created} 件。" if created else "已有案件，跳过演示案件。")


@main.command("serve")
@click.option("--host", default=None, help="监听地址（默认 127.0.0.1）")
@click.option("--port", default=None, type=int, help="端口（默认 5000）")
@with_appcontext
def serve_cmd(host: str | None, port: int | None) -> None:
    """启动网页服务。"""
    from werkzeug.serving import run_simple

    # Flask ignores app.run() inside its own CLI, so start the server directly.
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    run_simple(host or app.config["HOST"], port or app.config["PORT"], app, use_reloader=False, threaded=True)


@main.command("demo")
@click.pass_context
def demo_cmd(ctx: click.Context) -> None:
    """一键演示：建库、写入演示数据（如尚无）、启动网页服务。"""
    ctx.invoke(init_cmd)
    ctx.invoke(seed_demo_cmd, count=40)
    click.echo("网页地址：http://127.0.0.1:5000/")
    ctx.invoke(serve_cmd, host=None, port=None)


@main.command("check-bpmn")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@with_appcontext
def check_bpmn_cmd(paths: tuple[Path, ...]) -> None:
    """校验流程文件（默认校验项目全部流程）；有问题时以非零状态退出并指出元素 id。"""
    if paths:
        sources = {p.name: p.read_text(encoding="utf-8") for p in paths}
        require_top = any(LIFECYCLE_PROCESS in s for s in sources.values())
    else:
        sources = read_directory(current_app.config["BPMN_DIR"])
        require_top = True
    try:
        bundle = parse_sources(sources, xsd=True, require_top=require_top)
    except ProcessDefinitionError as exc:
        _fail(f"流程校验未通过：{exc}")
    click.echo(f"校验通过：{len(sources)} 个文件，{len(bundle.file_of_process)} 个流程，{len(bundle.tasks)} 个人工任务。")


@main.command("tasks")
@click.option("--user", "username", required=True, help="用户名")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出")
@with_appcontext
def tasks_cmd(username: str, as_json: bool) -> None:
    """列出用户的待办任务。"""
    session = get_session()
    try:
        user = _user(session, username)
        items = tasks.inbox(session, user)
    except HuiqianError as exc:
        _fail_with(exc)
    from models import Case
    rows = []
    for t in items:
        case = session.get(Case, t.case_id)
        rows.append({"task_id": t.id, "version": t.version, "case": case.code, "project": case.project_name,
                     "task": t.name, "bpmn_id": t.bpmn_id, "lane": t.lane,
                     "due_at": t.due_at.astimezone(CHINA).isoformat() if t.due_at else None,
                     "fields": [f.as_dict() for f in tasks.task_fields(session, t)]})
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    click.echo(f"{user.display_name} 的待办：{len(rows)} 件")
    for r in rows:
        due = f"  时限 {r['due_at'][:10]}" if r["due_at"] else ""
        click.echo(f"  #{r['task_id']}  {r['case']}  {r['project']}  「{r['task']}」{due}")
        for f in r["fields"]:
            opts = f"（{' / '.join(o['value'] + '=' + o['label'] for o in f['options'])}）" if "options" in f else ""
            click.echo(f"       {f['key']}: {f['label']} [{f['type']}{'，必填' if f['required'] else ''}]{opts}")


@main.command("complete")
@click.argument("task_id", required=False)
@click.option("--user", "username", default=None, help="办理人用户名（必填）")
@click.option("--data", "data", default="{}", help='表单数据 JSON，如 \'{"verified": true}\'')
@with_appcontext
def complete_cmd(task_id: str | None, username: str | None, data: str) -> None:
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
        task = tasks.complete_task(session, user, number, payload).task
    except HuiqianError as exc:
        _fail_with(exc)
    click.echo(f"已办结任务 #{task.id}「{task.name}」。")


@main.command("timers")
@click.option("--now", "now_text", default=None, help="按此时刻触发到期时限（ISO 格式，默认当前时间；无时区按北京时间）")
@with_appcontext
def timers_cmd(now_text: str | None) -> None:
    """触发已到期的流程时限（如第一类9月30日未判决、第二/五类年底回迁）。"""
    now = None
    if now_text:
        try:
            now = datetime.fromisoformat(now_text)
        except ValueError:
            _fail(f"--now 不是合法的时间：{now_text!r}，示例 2026-10-01T00:00:00+08:00")
        if now.tzinfo is None:
            now = now.replace(tzinfo=CHINA)
    run = timers.fire_due_timers(get_session(), now)
    click.echo(f"{run.now.astimezone(CHINA).isoformat()}：触发 {len(run.fired)} 个案件的到期时限"
               + (f"，{len(run.conflicts)} 个案件正被修改，下次再处理" if run.conflicts else ""))
    for f in run.fired:
        opened = "、".join(o["name"] for o in f["opened"]) or "无"
        click.echo(f"  {f['case_code']}：新任务 {opened}")


@main.command("layout-bpmn")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
def layout_bpmn_cmd(paths: tuple[Path, ...]) -> None:
    """为流程文件重新生成图形布局（BPMNDI），不改动流程逻辑。"""
    from workflows.engine.layout import layout_file
    for p in paths:
        click.echo(f"{p}: {'已更新' if layout_file(p) else '无变化'}")


if __name__ == "__main__":
    main()
