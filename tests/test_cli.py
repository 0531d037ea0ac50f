"""The `huiqian` command: what an operator types, and what they see when something is wrong."""

from __future__ import annotations

import json
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
                      .replace('name="法院"', 'name="不存在的部门"'), encoding="utf-8")
    result = run("check-bpmn", str(broken))
    assert result.exit_code != 0
    assert "Lane_c1_court" in result.output


def test_inbox_complete_and_timers_from_the_command_line(run):
    assert run("init").exit_code == 0
    seeded = run("seed-demo", "--cases", "3")
    assert seeded.exit_code == 0, seeded.output
    assert "220182-housing" in seeded.output  # one-time passwords are shown once
    inbox = json.loads(run("tasks", "--user", "220100-supervisor", "--json").output)
    intake = inbox[0]
    required = [f for f in intake["fields"] if f["required"]]
    sample = {"text": "已办理", "textarea": "已办理", "integer": 1, "decimal": 1.5, "boolean": True,
              "date": "2026-06-30"}
    valid = {f["key"]: f["options"][0]["value"] if f["type"] == "enum" else sample[f["type"]] for f in required}

    bad_json = run("complete", str(intake["task_id"]), "--user", "220100-supervisor", "--data", "{oops")
    assert bad_json.exit_code != 0 and "JSON" in bad_json.output
    missing = run("complete", str(intake["task_id"]), "--user", "220100-supervisor", "--data", "{}")
    assert missing.exit_code != 0 and required[0]["key"] in missing.output
    stranger = run("complete", str(intake["task_id"]), "--user", "220200-supervisor", "--data", "{}")
    assert stranger.exit_code != 0 and "不存在" in stranger.output

    done = run("complete", str(intake["task_id"]), "--user", "220100-supervisor", "--data",
               json.dumps(valid, ensure_ascii=False))
    assert done.exit_code == 0, done.output
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
