"""Drives cases through the service layer the way people would: each task is completed by an officer
of the agency it was routed to. Category tests read as a list of steps."""

from __future__ import annotations

import hashlib
import itertools
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Case, CaseEvent, Task, User
from workflows import cases, tasks, timers
from workflows.cases import NewCase
from workflows.engine import clock
from workflows.engine.specs import FILE_TYPES, FormField

_codes = itertools.count(1)


# The MIME type a test upload of each accepted extension carries.
_TEST_CONTENT_TYPES = {ext: types[0] for ext, types in FILE_TYPES.items()}


def file_reference(field: FormField | None = None, *, name: str | None = None, size: int = 245_760,
                   content: bytes = b"%PDF-1.7 test scan") -> dict[str, Any]:
    """A valid reference to an uploaded file, as the web UI will submit it for a file field."""
    extension = field.accept[0] if field is not None and field.accept else ".pdf"
    return {"sha256": hashlib.sha256(content).hexdigest(), "name": name or f"扫描件{extension}", "size": size,
            "content_type": _TEST_CONTENT_TYPES[extension]}


def auto_value(field: FormField) -> Any:
    if field.type == "file":
        return file_reference(field)
    return {
        "text": f"{field.label}（测试）",
        "textarea": f"{field.label}：已按要求办理。",
        "integer": int(field.minimum or 1),
        "decimal": 100.5,
        "boolean": True,  # also satisfies must-be-true
        "date": "2026-06-30",
        "enum": field.options[0][0] if field.options else None,
    }[field.type]


class Driver:
    def __init__(self, session: Session, people: Any) -> None:
        self.session = session
        self.people = people

    def travel_to(self, moment: datetime) -> None:
        """Set the clock every service reads (tests move time; they never sleep)."""
        clock.set_global(moment)

    def new_case(self, category: int, county: str = "榆树市", households: int = 12, *,
                 lead_type: str = "government", now: datetime | None = None) -> Case:
        if now is not None:
            self.travel_to(now)
        filer = self.people.officer(county, "housing")
        region = self.people.region(county)
        new = NewCase(code=f"T-{next(_codes):05d}", project_name=f"{county}测试棚改项目{category}",
                      region_code=region.code, lead_type=lead_type, households_overdue=households,
                      overdue_since=date(2019, 12, 31), category=category, responsible_leader="王副县长",
                      developer_name="测试房地产开发有限公司" if lead_type == "developer" else None)
        return cases.create_case(self.session, filer, new, now=now)

    def open_tasks(self, case: Case) -> list[Task]:
        self.session.rollback()  # end any read snapshot so other sessions' commits are visible
        return list(self.session.scalars(
            select(Task).where(Task.case_id == case.id, Task.status == "ready").order_by(Task.id)))

    def open_ids(self, case: Case) -> list[str]:
        return [t.bpmn_id for t in self.open_tasks(case)]

    def task(self, case: Case, bpmn_id: str) -> Task:
        found = [t for t in self.open_tasks(case) if t.bpmn_id == bpmn_id]
        assert found, f"no open task {bpmn_id}; open: {self.open_ids(case)}"
        return found[0]

    def officer_for(self, task: Task) -> User:
        agency = task.agency if "agency" in task.__dict__ else self.session.get(type(task).agency.property.mapper.class_, task.agency_id)
        return self.people.user(agency.region.name, agency.role, "officer")

    def complete(self, case: Case, bpmn_id: str, now: datetime | None = None, **data: Any) -> Task:
        """Complete the open task `bpmn_id` as an officer of its agency; unspecified fields get valid values."""
        task = self.task(case, bpmn_id)
        fields = tasks.task_fields(self.session, task)
        # A count bounded by the case (max-case) defaults to the whole count: all signed, all resettled.
        payload = {f.key: getattr(case, f.max_case) if f.max_case else auto_value(f) for f in fields if f.required}
        payload.update(data)
        actor = self.officer_for(task)
        if now is not None:
            self.travel_to(now)
        return tasks.complete_task(self.session, actor, task.id, payload).task

    def sign_all(self, case: Case, bpmn_id: str, **data: Any) -> list[Task]:
        """Complete every open instance of a 会签 task (`bpmn_id`), each as an officer of its agency."""
        done = []
        while bpmn_id in self.open_ids(case):
            done.append(self.complete(case, bpmn_id, **data))
        return done

    def intake_and_classify(self, case: Case, category: int | None = None) -> None:
        self.complete(case, "intake_verify", households_confirmed=case.households_overdue)
        self.complete(case, "classify", category=str(category or case.category))

    def resettle_all(self, case: Case) -> None:
        self.complete(case, "record_resettlement", households_resettled=case.households_overdue)

    def verify_and_close(self, case: Case) -> None:
        self.complete(case, "verify", verified=True)
        self.complete(case, "closeout", closeout_date="2026-12-20")
        self.session.refresh(case)
        assert case.status == "closed", case.status

    def fire_timers(self, now: datetime) -> timers.TimerRun:
        self.travel_to(now)
        return timers.fire_due_timers(self.session, now)

    def events(self, case: Case, kind: str | None = None) -> list[CaseEvent]:
        stmt = select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id)
        if kind:
            stmt = stmt.where(CaseEvent.kind == kind)
        return list(self.session.scalars(stmt))

    # --- agencies and the steps several tests walk through --------------------------------------------

    def agency(self, case: Case, bpmn_id: str) -> str:
        """The name of the agency the open task `bpmn_id` was routed to (e.g. 榆树市人民政府办公室)."""
        return self.officer_for(self.task(case, bpmn_id)).agency.name

    def to_court_judgment(self, case: Case) -> Task:
        """Category 1 from classification to the court's ruling: 住建 prepares, the county government
        holds the 府院联动 meeting, housing, court and government sign its minutes in turn, the court
        preserves the housing. Returns the court's open task."""
        self.intake_and_classify(case)
        self.complete(case, "c1_prepare_linkage")
        self.complete(case, "linkage_meeting")
        self.sign_all(case, "c1_linkage_minutes_signoff")
        self.complete(case, "preserve_housing")
        return self.task(case, "court_judgment")

    def finish_construction(self, case: Case) -> None:
        """Category 2's construction branch: the builder reports, housing finds it built, it is delivered."""
        self.complete(case, "c2_report_progress")
        self.complete(case, "c2_check_progress", construction_completed=True)
        self.complete(case, "complete_construction")
