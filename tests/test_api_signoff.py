"""会签 / 加签 / 减签 through the API: a signer signs by completing its own row; a supervisor adds and
removes signers with If-Match; each refusal is the JSON error a client reads."""

from __future__ import annotations

from sqlalchemy import select

from models import Agency, Task
from tests.conftest import at

NOW = at("2026-03-02 09:00")
STEP = "c7_joint_meeting_signoff"


def _at_signoff(driver):  # noqa: ANN001, ANN202
    case = driver.new_case(7, now=NOW)
    driver.intake_and_classify(case)
    driver.complete(case, "c7_prepare_joint_meeting", in_provincial_ledger=True)
    driver.complete(case, "c7_joint_meeting", joint_meeting_date="2026-03-10")
    return case


def _row(driver, case, agency_suffix: str) -> Task:  # noqa: ANN001
    [row] = [t for t in driver.open_tasks(case) if t.bpmn_id == STEP
             and driver.session.get(Agency, t.agency_id).name.endswith(agency_suffix)]
    return row


def test_signers_sign_and_a_supervisor_adds_and_removes_through_the_api(api_as, driver, people, session) -> None:  # noqa: ANN001
    case = _at_signoff(driver)
    tax = _row(driver, case, "税务局")
    tax_api = api_as(driver.officer_for(tax))
    signed = tax_api.post(f"/tasks/{tax.id}/complete", json={"data": {"signoff_opinion": "欠税已核清，同意"}},
                          headers={"If-Match": f'"{tax.version}"'})
    assert signed.status_code == 200, signed.json

    shown = tax_api.get(f"/tasks/{tax.id}/signoff")
    assert shown.status_code == 200
    assert (shown.json["mode"], shown.json["label"], shown.json["running"], shown.json["may_change"]) == (
        "all", "会签", True, False)
    by_role = {s["role"]: s for s in shown.json["signers"]}
    assert by_role["tax"]["status"] == "completed" and by_role["tax"]["opinion"] == "欠税已核清，同意"
    assert sorted(by_role) == ["government", "housing", "planning", "tax"]
    assert len(shown.json["waiting_for"]) == 3

    supervisor = api_as(people.supervisor("长春市"))
    housing = _row(driver, case, "住房和城乡建设局")
    stale = supervisor.post(f"/tasks/{housing.id}/signers", json={"role": "finance", "reason": "涉及土地出让金"},
                            headers={"If-Match": f'"{housing.version + 1}"'})
    assert stale.status_code == 412
    added = supervisor.post(f"/tasks/{housing.id}/signers", json={"role": "finance", "reason": "涉及土地出让金"},
                            headers={"If-Match": f'"{housing.version}"'})
    assert added.status_code == 201, added.json
    changed = added.json["changed"]
    assert (changed["agency"], changed["role"], changed["status"]) == (f"{case.region.name}财政局", "finance", "ready")
    assert changed["task_id"] == _row(driver, case, "财政局").id
    assert added.json["waiting_for"][-1] == f"{case.region.name}财政局" and added.json["mode"] == "all"
    placed = supervisor.post(f"/tasks/{housing.id}/signers", json={"role": "court", "reason": "法院", "position": "before"})
    assert placed.status_code == 422 and list(placed.json["errors"]) == ["position"]
    again = supervisor.post(f"/tasks/{housing.id}/signers", json={"role": "finance", "reason": "重复"})
    assert again.status_code == 409 and again.json["message"] == "财政部门已在会签部门中"
    bad = supervisor.post(f"/tasks/{housing.id}/signers", json={"role": "x" * 5000, "reason": None})
    assert bad.status_code == 422 and set(bad.json["errors"]) == {"reason"}
    bad_role = supervisor.post(f"/tasks/{housing.id}/signers", json={"role": "mayor", "reason": "市长"})
    assert bad_role.status_code == 422 and list(bad_role.json["errors"]) == ["role"]
    officer = tax_api.post(f"/tasks/{housing.id}/signers", json={"role": "court", "reason": "法院"})
    assert officer.status_code in (403, 404)

    removed_signed = supervisor.post(f"/tasks/{tax.id}/remove-signer", json={"reason": "已签"})
    assert removed_signed.status_code == 409 and removed_signed.json["message"] == "该部门已签署，不能减签"
    for suffix in ("人民政府办公室", "住房和城乡建设局", "自然资源局"):
        row = _row(driver, case, suffix)
        done = api_as(driver.officer_for(row)).post(f"/tasks/{row.id}/complete",
                                                    json={"data": {"signoff_opinion": "同意"}})
        assert done.status_code == 200, done.json
    assert driver.open_ids(case) == [STEP]  # finance, added mid-way, is waited for
    finance = _row(driver, case, "财政局")
    removed = supervisor.post(f"/tasks/{finance.id}/remove-signer", json={"reason": "土地出让金已缴清，无需财政会签"},
                              headers={"If-Match": f'"{finance.version}"'})
    assert removed.status_code == 200, removed.json
    assert [o["bpmn_id"] for o in removed.json["opened"]] == ["c7_tolerance_mechanism"]
    session.rollback()
    assert session.scalar(select(Task.status).where(Task.id == finance.id)) == "cancelled"


def test_the_signoff_of_an_ordinary_task_or_another_county_is_not_found(api_as, driver, people) -> None:  # noqa: ANN001
    case = _at_signoff(driver)
    plain = driver.session.scalar(select(Task).where(Task.case_id == case.id, Task.bpmn_id == "c7_joint_meeting"))
    supervisor = api_as(people.supervisor("长春市"))
    r = supervisor.get(f"/tasks/{plain.id}/signoff")
    assert r.status_code == 404 and r.json["message"] == "该任务不是会签任务"
    row = driver.task(case, STEP)
    outsider = api_as(people.supervisor("四平市"))
    assert outsider.get(f"/tasks/{row.id}/signoff").status_code == 404
    assert outsider.post(f"/tasks/{row.id}/remove-signer", json={"reason": "越权"}).status_code == 404
    assert supervisor.get(f"/tasks/{10**30}/signoff").status_code == 404


def test_sequential_minutes_through_the_api(api_as, driver, people, session) -> None:  # noqa: ANN001
    """依次会签 of category 1's 府院联动 minutes: queued signers have no task; 加签 before the one
    signing now withdraws its row; 减签 of a queued signer names its role."""
    case = driver.new_case(1, now=NOW)
    driver.intake_and_classify(case)
    driver.complete(case, "c1_prepare_linkage")
    driver.complete(case, "linkage_meeting")
    [housing] = driver.open_tasks(case)
    supervisor = api_as(people.supervisor("长春市"))
    shown = supervisor.get(f"/tasks/{housing.id}/signoff").json
    assert (shown["mode"], shown["label"]) == ("sequence", "依次会签")
    assert [(s["role"], s["status"], s["task_id"]) for s in shown["signers"]] == [
        ("housing", "ready", housing.id), ("court", "queued", None), ("government", "queued", None)]

    before = supervisor.post(f"/tasks/{housing.id}/signers",
                             json={"role": "tax", "reason": "须税务先核", "position": "before"},
                             headers={"If-Match": f'"{housing.version}"'})
    assert before.status_code == 201, before.json
    assert [(s["role"], s["status"]) for s in before.json["signers"]] == [
        ("tax", "ready"), ("housing", "cancelled"), ("housing", "queued"), ("court", "queued"),
        ("government", "queued")]
    tax_id = before.json["changed"]["task_id"]
    assert before.json["changed"]["role"] == "tax" and isinstance(tax_id, int)
    assert before.json["waiting_for"][:2] == [f"{case.region.name}税务局", f"{case.region.name}住房和城乡建设局"]
    gone = supervisor.post(f"/tasks/{housing.id}/signers", json={"role": "finance", "reason": "x"})
    assert gone.status_code == 409  # that row was withdrawn; the sign-off is reached through the open one

    bad = supervisor.post(f"/tasks/{tax_id}/signers", json={"role": "finance", "reason": "财政", "position": "middle"})
    assert bad.status_code == 422 and list(bad.json["errors"]) == ["position"]
    removed = supervisor.post(f"/tasks/{tax_id}/remove-signer", json={"reason": "法院已另行出具意见", "role": "court"})
    assert removed.status_code == 200 and removed.json["opened"] == []
    again = supervisor.post(f"/tasks/{tax_id}/remove-signer", json={"reason": "再减", "role": "court"})
    assert again.status_code == 409 and again.json["message"] == "该部门不在排队待签的部门中"
    odd = supervisor.post(f"/tasks/{tax_id}/remove-signer", data='{"reason": "x", "role": "\\ud800"}',
                          content_type="application/json")
    assert odd.status_code == 422 and list(odd.json["errors"]) == ["role"]
    after = supervisor.get(f"/tasks/{tax_id}/signoff").json
    assert [(s["role"], s["status"]) for s in after["signers"] if s["status"] != "cancelled"] == [
        ("tax", "ready"), ("housing", "queued"), ("government", "queued")]
