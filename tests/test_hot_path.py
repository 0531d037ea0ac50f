"""The hot path stays lean: filing a case and completing a task each cost a handful of statements and
exactly one commit (what a request pays on top of the engine; timings live in benchmarks/engine.py)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import event, select

from models import Task, User
from workflows import cases, tasks
from workflows.cases import NewCase

# Filing is exactly 8 since 立案核实 and 分类认定 declare SLAs (sla_workdays): opening them reads the
# working-day calendar once (workflows/sla.py); completing is 7. A task without an SLA reads nothing.
MAX_STATEMENTS = 8
CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE", "PRAGMA")


class Counter:
    def __init__(self, engine) -> None:  # noqa: ANN001
        self.statements: list[str] = []
        self.commits = 0
        self.active = False
        event.listen(engine, "before_cursor_execute", self._statement)
        event.listen(engine, "commit", self._commit)

    def _statement(self, conn, cursor, statement, params, context, many) -> None:  # noqa: ANN001
        if self.active and not statement.lstrip().upper().startswith(CONTROL):
            self.statements.append(statement.split("\n")[0][:100])

    def _commit(self, conn) -> None:  # noqa: ANN001
        if self.active:
            self.commits += 1

    def __enter__(self) -> Counter:
        self.statements, self.commits, self.active = [], 0, True
        return self

    def __exit__(self, *exc: object) -> None:
        self.active = False


def test_filing_and_completing_cost_at_most_eight_statements_and_one_commit(driver, people, engine,
                                                                             session_factory):
    driver.new_case(2)  # warm the spec cache and register the process version
    officer = people.officer("榆树市", "housing")
    counter = Counter(engine)
    for i in range(3):
        with session_factory() as session:  # a fresh session per operation, as a request has
            actor = session.get(User, officer.id)
            new = NewCase(code=f"HOT-{i}", project_name="热路径项目", region_code=people.region("榆树市").code,
                          lead_type="government", households_overdue=12, overdue_since=date(2019, 12, 31),
                          category=2, responsible_leader="王副县长")
            with counter:
                case = cases.create_case(session, actor, new)
            assert len(counter.statements) <= MAX_STATEMENTS, counter.statements
            assert counter.commits == 1
            task_id = session.scalar(select(Task.id).where(Task.case_id == case.id))
        with session_factory() as session:
            actor = session.get(User, officer.id)
            with counter:
                tasks.complete_task(session, actor, task_id, {"households_confirmed": 12,
                                                              "responsible_leader": "王副县长",
                                                              "intake_facts": "核实无误"})
            assert len(counter.statements) <= MAX_STATEMENTS, counter.statements
            assert counter.commits == 1
    assert driver.open_ids(case) == ["classify"]
