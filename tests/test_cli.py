"""The `huiqian` command: what an operator types, and what they see when something is wrong."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from webapp.cli import main

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def run(tmp_path, monkeypatch):
    monkeypatch.setenv("HUIQIAN_INSTANCE", str(tmp_path))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    runner = CliRunner()

    def invoke(*args: str):  # noqa: ANN202
        return runner.invoke(main, list(args), catch_exceptions=False)

    return invoke


def test_check_bpmn_validates_every_project_process(run):
    result = run("check-bpmn")
    assert result.exit_code == 0, result.output
    assert "校验通过：11 个文件" in result.output


def test_check_bpmn_rejects_code_in_a_condition_and_never_runs_it(run, tmp_path):
    marker = tmp_path / "pwned"
    source = (ROOT / "bpmn" / "case_lifecycle.bpmn").read_text(encoding="utf-8")
    evil = tmp_path / "evil.bpmn"
    evil.write_text(source.replace("category == '3'", f"__import__('os').system('touch {marker}')"),
                    encoding="utf-8")
    result = run("check-bpmn", str(evil))
    assert result.exit_code != 0
    assert "f_cat_3" in result.output and "__import__" in result.output
    assert not marker.exists()


def test_check_bpmn_names_the_element_of_a_broken_file(run, tmp_path):
    broken = tmp_path / "broken.bpmn"
    broken.write_text((ROOT / "bpmn" / "category_1_litigation.bpmn").read_text(encoding="utf-8")
                      .replace('hq:role="court"', 'hq:role="不存在的部门"'), encoding="utf-8")
    result = run("check-bpmn", str(broken))
    assert result.exit_code != 0
    assert "Lane_c1_court" in result.output


SAMPLE = {"text": "已办理", "textarea": "已办理", "integer": 1, "decimal": 1.5, "boolean": True,
          "date": "2026-06-30"}


def _valid(task: dict) -> dict:
    """Valid form data for a task as `huiqian tasks --json` lists it."""
    return {f["key"]: f["options"][0]["value"] if f["type"] == "enum" else SAMPLE[f["type"]]
            for f in task["fields"] if f["required"]}


def test_inbox_complete_and_timers_from_the_command_line(run):
    assert run("init").exit_code == 0
    seeded = run("seed-demo", "--cases", "3")
    assert seeded.exit_code == 0, seeded.output
    assert "220182-housing" in seeded.output  # one-time passwords are shown once
    inbox = json.loads(run("tasks", "--user", "220100-supervisor", "--json").output)
    # The city 安居办's own task (上级核验): its supervisor completes it as themselves.
    intake = next(t for t in inbox if t["own_agency"])
    required = [f for f in intake["fields"] if f["required"]]
    valid = _valid(intake)

    bad_json = run("complete", str(intake["task_id"]), "--user", "220100-supervisor", "--data", "{oops")
    assert bad_json.exit_code != 0 and "JSON" in bad_json.output
    missing = run("complete", str(intake["task_id"]), "--user", "220100-supervisor", "--data", "{}")
    assert missing.exit_code != 0 and required[0]["key"] in missing.output
    stranger = run("complete", str(intake["task_id"]), "--user", "220200-supervisor", "--data", "{}")
    assert stranger.exit_code != 0 and "不存在" in stranger.output

    done = run("complete", str(intake["task_id"]), "--user", "220100-supervisor", "--data",
               json.dumps(valid, ensure_ascii=False))
    assert done.exit_code == 0, done.output
    assert "（代办）" not in done.output
    assert any(w in done.output for w in ("下一步：#", "流程已结束", "等待其他并行任务办结")), done.output
    after = json.loads(run("tasks", "--user", "220100-supervisor", "--json").output)
    assert intake["task_id"] not in [t["task_id"] for t in after]

    assert run("timers", "--now", "not-a-time").exit_code != 0
    timers = run("timers", "--now", "2030-01-01T00:00:00+08:00")
    assert timers.exit_code == 0 and "触发" in timers.output


def test_events_written_from_the_command_line_name_the_channel_and_os_user(run):
    import getpass

    from sqlalchemy import create_engine, text
    assert run("init").exit_code == 0
    assert run("seed-demo", "--cases", "1").exit_code == 0
    import os
    engine = create_engine(os.environ["DATABASE_URL"])
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT DISTINCT channel, os_user FROM case_events")).all()
    engine.dispose()
    assert rows == [("cli", getpass.getuser())]


# --- 代办 and what a new user meets on the command line -------------------------------------------

def _file_case(category: int, *, advance_to: str | None = None) -> int:
    """File a case in 榆树市 through the service layer on the command line's database (the demo's random
    progress must not decide what these tests find) and, with `advance_to`, complete its tasks as the
    agencies' demo officers until that task is open. Returns the id of its newest open task."""
    import os
    from datetime import date

    from sqlalchemy import create_engine, select
    from sqlalchemy.orm import Session

    from models import Case, Task, User
    from tests.driver import auto_value
    from workflows import cases, tasks
    from workflows.cases import NewCase
    engine = create_engine(os.environ["DATABASE_URL"])
    try:
        with Session(engine) as session:
            filer = session.scalar(select(User).where(User.username == "220182-housing"))
            number = session.query(Case).count() + 901
            case = cases.create_case(session, filer, NewCase(
                code=f"JL-220182-{number}", project_name="榆树市命令行测试项目", region_code="220182",
                lead_type="government", households_overdue=12, overdue_since=date(2019, 12, 31),
                category=category, responsible_leader="王副市长"))
            while True:
                task = session.scalars(select(Task).where(Task.case_id == case.id, Task.status == "ready")
                                       .order_by(Task.id.desc())).first()
                if advance_to is None or task.bpmn_id == advance_to:
                    return task.id
                officer = session.scalar(select(User).where(User.agency_id == task.agency_id,
                                                            User.role == "officer"))
                fields = tasks.task_fields(session, task)
                data = {f.key: getattr(case, f.max_case) if getattr(f, "max_case", None) else auto_value(f)
                        for f in fields if f.required}
                if task.bpmn_id == "classify":
                    data["category"] = str(category)
                tasks.complete_task(session, officer, task.id, data)
    finally:
        engine.dispose()


def _demo(run, cases: str = "3") -> list[dict]:
    assert run("init").exit_code == 0
    seeded = run("seed-demo", "--cases", cases)
    assert seeded.exit_code == 0, seeded.output
    _file_case(2)  # a new case's first task (立案核实) is always the county housing bureau's
    return json.loads(run("tasks", "--user", "220100-supervisor", "--json").output)


def test_supervisor_completes_another_agencys_task_only_on_behalf(run):
    inbox = _demo(run)
    housing = next(t for t in inbox if t["agency_role"] == "housing")
    data = json.dumps(_valid(housing), ensure_ascii=False)
    refused = run("complete", f"#{housing['task_id']}", "--user", "220100-supervisor", "--data", data)
    assert refused.exit_code == 1
    assert "督办人不能直接办理住建部门的任务" in refused.output and "--on-behalf" in refused.output
    blank = run("complete", f"#{housing['task_id']}", "--user", "220100-supervisor", "--on-behalf", "  ",
                "--data", data)
    assert blank.exit_code == 1 and "代办理由" in blank.output

    done = run("complete", f"#{housing['task_id']}", "--user", "220100-supervisor", "--on-behalf",
               "住建局经办人长期病假", "--data", data)
    assert done.exit_code == 0, done.output
    assert f"已办结任务 #{housing['task_id']}「{housing['task']}」（代办）。" in done.output
    assert "下一步：#" in done.output or "等待其他并行任务办结" in done.output or "流程已结束" in done.output


def test_a_court_task_is_never_completed_on_behalf_from_the_command_line(run):
    _demo(run)
    court_id = _file_case(1, advance_to="court_judgment")
    inbox = json.loads(run("tasks", "--user", "220100-supervisor", "--json").output)
    court = next(t for t in inbox if t["task_id"] == court_id)
    assert court["agency_role"] == "court"
    # Refused before the form is read: the data need not carry the judgment's scan.
    data = _valid({**court, "fields": [f for f in court["fields"] if f["type"] != "file"]})
    result = run("complete", str(court["task_id"]), "--user", "220100-supervisor", "--on-behalf", "久拖不判",
                 "--data", json.dumps(data, ensure_ascii=False))
    assert result.exit_code == 1 and "法院的审判事项不能代办" in result.output


def test_complete_names_the_next_task_and_whose_it_is(run):
    inbox = _demo(run)
    task = next(t for t in inbox if t["agency_role"] == "housing")
    officer = f"{task['case'].split('-')[1]}-housing"  # the case's county housing bureau: JL-220183-003
    done = run("complete", f"#{task['task_id']}", "--user", officer, "--data",
               json.dumps(_valid(task), ensure_ascii=False))
    assert done.exit_code == 0, done.output
    line = done.output.strip()
    assert line.startswith(f"已办结任务 #{task['task_id']}「{task['task']}」。")
    if "下一步：" in line:  # each opened task: its number, its name and the agency it went to
        import re
        assert re.search(r"下一步：#\d+「[^」]+」→ \S+", line), line
    again = run("complete", f"#{task['task_id']}", "--user", officer, "--data",
                json.dumps(_valid(task), ensure_ascii=False))
    assert again.exit_code == 1
    assert f"任务「{task['task']}」已办结，不能再办理" in again.output and "已已" not in again.output


def test_demo_people_and_history_read_in_chinese(run):
    import os
    import re

    from sqlalchemy import create_engine, text
    assert run("init").exit_code == 0
    seeded = run("seed-demo", "--cases", "2")
    assert seeded.exit_code == 0, seeded.output
    assert "吉林省安居办审计员" in seeded.output and "长春市安居办督办人" in seeded.output
    assert not re.search(r"\S +(officer|supervisor|auditor|admin)\s", seeded.output)  # role column is Chinese
    engine = create_engine(os.environ["DATABASE_URL"])
    with engine.connect() as conn:
        names = conn.execute(text("SELECT display_name FROM users")).scalars().all()
        summaries = conn.execute(text("SELECT summary FROM case_events")).scalars().all()
    engine.dispose()
    assert names and not [n for n in names if re.search("[A-Za-z]", n)]
    assert summaries and not [s for s in summaries if re.search("[A-Za-z]", s)]


@pytest.fixture
def busy_port():
    import socket
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield listener.getsockname()[1]


def test_demo_on_a_busy_port_fails_before_seeding_and_suggests_another(run, tmp_path, busy_port):
    result = run("demo", "--port", str(busy_port))
    assert result.exit_code == 1
    assert f"端口 {busy_port} 已被占用" in result.output and "--port" in result.output
    assert "网页地址" not in result.output and "演示用户" not in result.output
    assert not (tmp_path / "cli.db").exists()  # nothing seeded


def test_serve_checks_its_port(run, busy_port):
    busy = run("serve", "--port", str(busy_port))
    assert busy.exit_code == 1 and f"端口 {busy_port} 已被占用" in busy.output
    assert len(busy.output.strip().splitlines()) == 1
    for bad in ("0", "65536", "-1", "http", "99999999999999999999"):
        result = run("serve", "--port", bad)
        assert result.exit_code == 1 and "--port 端口应为 1–65535 之间的整数" in result.output, bad
    assert "--port 端口应为" in run("demo", "--port", "70000").output


@pytest.mark.parametrize("count", ["-1", "1001", "lots", "10" * 20])
def test_seed_demo_case_count_is_bounded(run, tmp_path, count):
    result = run("seed-demo", "--cases", count)
    assert result.exit_code == 1 and "--cases 演示案件数应为 0–1000 之间的整数" in result.output
    assert not (tmp_path / "cli.db").exists()


@pytest.mark.parametrize("moment", ["0001-01-01T00:00:00+08:00", "9999-12-31T23:59:59-12:00",
                                    "1999-12-31T23:59:59+08:00", "2101-01-01T00:00:00"])
def test_timers_refuses_far_years_in_chinese(run, moment):
    result = run("timers", "--now", moment)
    assert result.exit_code == 1 and "--now 的年份应在 2000–2100 之间" in result.output


def _gbk(text_: str) -> bytes:
    return text_.replace('encoding="UTF-8"', 'encoding="GBK"', 1).encode("gbk")


def test_check_bpmn_reads_a_file_in_the_encoding_it_declares(run, tmp_path):
    source = (ROOT / "bpmn" / "category_1_litigation.bpmn").read_text(encoding="utf-8")
    gbk = tmp_path / "gbk.bpmn"
    gbk.write_bytes(_gbk(source))
    result = run("check-bpmn", str(gbk), str(ROOT / "bpmn" / "shared_resettlement.bpmn"))  # it calls that one
    assert result.exit_code == 0, result.output
    assert "校验通过：2 个文件" in result.output


@pytest.mark.parametrize("declaration, encoding", [
    ('encoding="UTF-8"', "gbk"),          # says UTF-8, saved as GBK
    ('encoding="ascii"', "utf-8"),        # says ASCII, holds Chinese
    ('encoding="x-no-such-code"', "utf-8"),
    ("", "gbk"),                          # says nothing (so UTF-8), saved as GBK
])
def test_bpmn_bytes_that_do_not_match_their_declaration_are_named_not_a_traceback(run, tmp_path, declaration,
                                                                                   encoding):
    source = (ROOT / "bpmn" / "category_1_litigation.bpmn").read_text(encoding="utf-8")
    source = source.replace('encoding="UTF-8"', declaration, 1)
    bad = tmp_path / "mislabelled.bpmn"
    bad.write_bytes(source.encode(encoding))
    result = run("check-bpmn", str(bad))
    assert result.exit_code == 1 and "mislabelled.bpmn" in result.output and "编码" in result.output


def test_deploy_of_a_gbk_copy_is_the_same_version_and_a_mislabelled_file_is_refused(run, tmp_path):
    import shutil
    assert run("init").exit_code == 0
    copy = tmp_path / "bpmn_gbk"
    shutil.copytree(ROOT / "bpmn", copy)
    name = "category_1_litigation.bpmn"
    (copy / name).write_bytes(_gbk((copy / name).read_text(encoding="utf-8")))
    same = run("deploy-bpmn", str(copy))
    assert same.exit_code == 0, same.output
    assert "没有变化" in same.output  # stored as UTF-8 text: the very content of v1
    assert run("check-bpmn").exit_code == 0

    (copy / name).write_bytes((copy / name).read_bytes().replace(b'encoding="UTF-8"', b'encoding="GBK"')
                              + "<!-- 乱码 -->".encode())
    (copy / "other.bpmn").write_bytes((ROOT / "bpmn" / name).read_text(encoding="utf-8")
                                      .replace('encoding="UTF-8"', 'encoding="ascii"').encode("utf-8"))
    refused = run("deploy-bpmn", str(copy))
    assert refused.exit_code == 1 and "未部署" in refused.output and "other.bpmn" in refused.output


@pytest.mark.parametrize("args, expected", [
    (("complete", "1", "--usr", "x"), "没有选项 --usr；您是不是要写 --user？"),
    (("complet",), "没有命令 complet；您是不是要写 complete？"),
    (("tasks",), "缺少选项 --user"),
    (("tasks", "--user"), "选项 --user 后面需要一个值"),
    (("complete", "1", "2"), "多余的参数：2"),
    (("layout-bpmn",), "缺少参数 PATHS"),
    (("check-bpmn", "/no/such/file.bpmn"), "文件不存在：/no/such/file.bpmn"),
])
def test_usage_errors_are_told_in_chinese(run, args, expected):
    result = run(*args)
    assert result.exit_code != 0
    assert expected in result.output, result.output
    assert "Error" not in result.output and "Usage" not in result.output


def test_the_readme_walkthrough_works_on_a_fresh_demo(run):
    """The README's example commands, run as written on a freshly seeded demo database."""
    import re
    import shlex
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Command line"):readme.index("## Process files")]
    walk = section[section.index("Working a task on a fresh demo database"):]
    listing = re.search(r"^huiqian (tasks --user \S+)$", walk, re.M).group(1)
    complete = re.search(r"^huiqian (complete .*?)\n(?!  )", walk.replace("\\\n", ""), re.M | re.S).group(1)
    assert run("init").exit_code == 0
    seeded = run("seed-demo")
    assert seeded.exit_code == 0
    task_id = shlex.split(complete)[1]
    shown = run(*shlex.split(listing))
    assert shown.exit_code == 0 and f"  {task_id}  " in shown.output, shown.output
    done = run(*shlex.split(complete))
    assert done.exit_code == 0, done.output
    assert f"已办结任务 {task_id}" in done.output
    _replay_readme_curl_session(readme, seeded.output)


def _replay_readme_curl_session(readme: str, seed_output: str) -> None:
    """The README's curl session, each curl line replayed through the app as written (the password
    the demo printed in place of <密码>, the token the session created in place of $TOKEN), and the
    answers it shows checked."""
    import re
    import shlex

    from webapp import create_app
    section = readme[readme.index("## API"):readme.index("## Process files")]
    block = section[section.index("```bash"):].split("```")[1]
    user = re.search(r'"username": "([^"]+)"', block).group(1)
    password = re.search(rf"^{re.escape(user)}\s+\S+\s+\S+\s+(\S+)", seed_output, re.M).group(1)
    client = create_app({"TESTING": True, "SECRET_KEY": "readme"}).test_client()
    token = None
    answers = []
    for line in block.splitlines():
        if "curl " not in line:
            continue
        command = line[line.index("curl "):].split(" | ")[0].rstrip(")")
        command = command.replace("<密码>", password).replace("$TOKEN", token or "")
        args = shlex.split(command.replace("$API", "http://127.0.0.1:5000/api/v1"))
        headers, body, url = {}, None, None
        for flag, value in zip(args, args[1:], strict=False):
            if flag == "-H":
                name, _, text_ = value.partition(":")
                headers[name.strip()] = text_.strip()
            elif flag == "-d":
                body = value
        url = next(a for a in args if a.startswith("http"))
        path = url.removeprefix("http://127.0.0.1:5000")
        response = client.open(path, method="POST" if body is not None else "GET", data=body, headers=headers)
        assert response.status_code in (200, 201), (line, response.get_json())
        answers.append(response.get_json())
        if "token" in answers[-1]:
            token = answers[-1]["token"]
    assert [a.get("username") for a in answers[:1]] == [user]
    completed = answers[-1]
    assert completed["task"]["status"] == "completed" and completed["opened"], completed
    shown = re.search(r'"opened": \[\{"task_id": (\d+), "name": "([^"]+)", "agency": "([^"]+)"', block)
    # The task number the README shows is the one a fresh demo gives; here the CLI walkthrough above
    # has already opened a task, so only what opened and for whom are compared.
    assert (completed["opened"][0]["name"], completed["opened"][0]["agency"]) == (shown.group(2), shown.group(3))
    worked = int(re.search(r"/tasks/(\d+)/complete", block).group(1))
    assert worked in [item["id"] for item in answers[2]["items"]]


def test_a_supervisor_reclassifies_a_case_from_the_command_line(run):
    import os

    from sqlalchemy import create_engine, text
    assert run("init").exit_code == 0
    assert run("seed-demo", "--cases", "9").exit_code == 0
    engine = create_engine(os.environ["DATABASE_URL"])
    with engine.connect() as conn:
        code, category = conn.execute(text(
            "SELECT cases.code, cases.category FROM cases JOIN tasks ON tasks.case_id = cases.id "
            "WHERE tasks.status = 'ready' AND tasks.process_id LIKE 'category_%' "
            "AND cases.category <> 9 ORDER BY cases.id")).first()
    engine.dispose()
    county = code.split("-")[1]  # demo codes are JL-<county code>-<n>
    officer = run("reclassify", code, "--to", "9", "--reason", "多轮协调无果", "--user", f"{county}-housing")
    assert officer.exit_code != 0 and "市级或省级督办人" in officer.output
    no_reason = run("reclassify", code, "--to", "9", "--reason", " ", "--user", "220000-supervisor")
    assert no_reason.exit_code != 0 and "改类理由" in no_reason.output
    moved = run("reclassify", code, "--to", "9", "--reason", "多轮协调无果，转为政府兜底", "--user",
                "220000-supervisor")
    assert moved.exit_code == 0, moved.output
    assert f"已由第{category}类" in moved.output and "改为第9类" in moved.output
    assert "已撤销：#" in moved.output and "新任务：#" in moved.output
    assert "已撤销）" in moved.output and "办理中）" in moved.output  # both category processes, in order
    unknown = run("reclassify", "NO-SUCH", "--to", "9", "--reason", "x", "--user", "220000-supervisor")
    assert unknown.exit_code != 0 and "不存在" in unknown.output


def test_tick_runs_one_pass_of_the_worker_and_raises_each_escalation_once(run):
    assert run("init").exit_code == 0
    assert run("seed-demo", "--cases", "3").exit_code == 0
    moment = "2027-06-01T09:00:00+08:00"  # a year on: every open demo task is long past its SLA
    first = run("tick", "--now", moment)
    assert first.exit_code == 0, first.output
    summary = re.match(r"2027-06-01T09:00:00\+08:00：触发 \d+ 个案件的到期时限；自动督办 (\d+) 件（约谈 \1）",
                       first.output.splitlines()[0])
    assert summary and int(summary.group(1)) > 0, first.output
    assert first.output.count("：自动约谈「") == int(summary.group(1))
    again = run("tick", "--now", moment)
    assert again.exit_code == 0 and "自动督办 0 件" in again.output.splitlines()[0]


@pytest.mark.parametrize(("args", "expected"), [
    (("tick", "--now", "not-a-time"), "--now 不是合法的时间：not-a-time"),
    (("tick", "--now", "1999-12-31T23:59:59+08:00"), "--now 的年份应在 2000–2100 之间"),
    (("worker", "--interval", "0"), "--interval 间隔秒数应为 1–86400 之间的整数"),
    (("worker", "--interval", "soon"), "--interval 间隔秒数应为 1–86400 之间的整数"),
])
def test_tick_and_worker_refuse_bad_options_in_chinese(run, args, expected):
    result = run(*args)
    assert result.exit_code == 1 and expected in result.output, result.output


def test_tick_refuses_a_bad_policy_naming_the_rule(run, monkeypatch):
    assert run("init").exit_code == 0
    monkeypatch.setenv("HUIQIAN_AUTO_ESCALATION", '[[3, "urge", "county"], [2, "supervise", "city"]]')
    result = run("tick")
    assert result.exit_code == 1 and "自动督办规则 AUTO_ESCALATION 第 2 条：工作日数应逐条递增" in result.output


def test_worker_runs_passes_until_sigterm_and_stops_cleanly(run, tmp_path):
    assert run("init").exit_code == 0
    worker = subprocess.Popen([sys.executable, "-m", "webapp.cli", "worker", "--interval", "1"], cwd=ROOT,
                              env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    try:
        lines = []
        for line in worker.stdout:  # the first pass's line, then stop it
            lines.append(line)
            if "自动督办" in line:
                break
        assert lines[0].startswith("后台任务已启动：每 1 秒运行一次"), lines
        worker.send_signal(signal.SIGTERM)
        rest, _ = worker.communicate(timeout=60)
    finally:
        if worker.poll() is None:
            worker.kill()
    assert worker.returncode == 0, rest
    assert "收到停止信号" in rest and re.search(r"后台任务已停止，共运行 \d+ 次。", rest), rest


def test_a_command_on_a_database_never_set_up_says_so_in_one_sentence(run):
    result = run("tasks", "--user", "220184-housing")
    assert result.exit_code == 1
    assert result.output.strip() == "错误：数据库尚未建表或版本过旧：请先运行 huiqian init（建立或升级数据库结构）"
