"""The task page's 会签 panel: every signer with status and opinion; 加签 and 减签 offered to a supervisor
over the case only, each posting to the service and telling the outcome."""

from __future__ import annotations

import re

from sqlalchemy import select

from models import Agency, Task
from tests.conftest import at
from tests.pages import csrf, signed_in

NOW = at("2026-03-02 09:00")
STEP = "c7_joint_meeting_signoff"


def _at_signoff(driver):  # noqa: ANN001, ANN202
    case = driver.new_case(7, now=NOW)
    driver.intake_and_classify(case)
    driver.complete(case, "c7_prepare_joint_meeting", in_provincial_ledger=True)
    driver.complete(case, "c7_joint_meeting", joint_meeting_date="2026-03-10")
    return case


def _row(driver, case, suffix: str) -> Task:  # noqa: ANN001
    [row] = [t for t in driver.open_tasks(case) if t.bpmn_id == STEP
             and driver.session.get(Agency, t.agency_id).name.endswith(suffix)]
    return row


def _follow(client, response) -> str:  # noqa: ANN001
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return client.get(response.headers["Location"]).get_data(as_text=True)


def test_signers_see_the_panel_and_a_supervisor_adds_and_removes(app, driver, people, session) -> None:  # noqa: ANN001
    case = _at_signoff(driver)
    boss = people.supervisor("长春市")
    tax = _row(driver, case, "税务局")
    from workflows import tasks
    tasks.complete_task(session, driver.officer_for(tax), tax.id, {"signoff_opinion": "欠税已核清"})
    housing = _row(driver, case, "住房和城乡建设局")

    officer = signed_in(app, driver.officer_for(housing))
    page = officer.get(f"/tasks/{housing.id}").get_data(as_text=True)
    assert 'id="signoff"' in page and "会签情况" in page and "全部部门签署后进入下一步" in page
    assert "欠税已核清" in page and "已签署" in page and page.count("待签署") >= 3
    assert "尚待签署：" in page and f"{case.region.name}税务局" in page
    assert 'id="add-signer-form"' not in page and "remove-signer-form" not in page  # officers do not change signers

    supervisor = signed_in(app, boss)
    page = supervisor.get(f"/tasks/{housing.id}").get_data(as_text=True)
    assert 'id="add-signer-form"' in page and page.count('class="mt-1 remove-signer-form"') == 3
    assert '<option value="finance">财政</option>' in page and '<option value="tax">' not in page
    refused = supervisor.post(f"/tasks/{housing.id}/signers", data={"csrf_token": csrf(page), "role": "finance",
                                                                     "reason": " "})
    assert "理由：不能为空" in _follow(supervisor, refused)
    added = supervisor.post(f"/tasks/{housing.id}/signers", data={"csrf_token": csrf(page), "role": "finance",
                                                                   "reason": "涉及补缴土地出让金"})
    shown = _follow(supervisor, added)
    assert f"已加签 {case.region.name}财政局，会签须等其签署后才完成。" in shown
    assert 'data-signer="finance" data-status="ready"' in shown

    planning = _row(driver, case, "自然资源局")
    form = shown[shown.index(f'action="/tasks/{planning.id}/remove-signer"'):]
    version = re.search(r'name="version" value="(\d+)"', form).group(1)
    removed = supervisor.post(f"/tasks/{planning.id}/remove-signer", data={
        "csrf_token": csrf(shown), "version": version, "from": str(housing.id), "reason": "规划手续已齐全"})
    after = _follow(supervisor, removed)
    assert "已减签。" in after and 'data-signer="planning" data-status="cancelled"' in after
    session.rollback()
    assert session.scalar(select(Task.status).where(Task.id == planning.id)) == "cancelled"


def test_sequential_minutes_on_the_task_page(app, driver, people, session) -> None:  # noqa: ANN001
    """依次会签: the page shows the order, who signs now and who follows; 加签 asks where; 减签 of a
    signer whose turn has not come posts its role."""
    case = driver.new_case(1, now=NOW)
    driver.intake_and_classify(case)
    driver.complete(case, "c1_prepare_linkage")
    driver.complete(case, "linkage_meeting")
    [housing] = driver.open_tasks(case)
    place = case.region.name
    boss = people.supervisor("长春市")

    officer = signed_in(app, driver.officer_for(housing))
    page = officer.get(f"/tasks/{housing.id}").get_data(as_text=True)
    assert "依次会签情况" in page and "按顺序逐一签署" in page
    assert f"正在签署：{place}住房和城乡建设局；之后依次：{place}人民法院、{place}人民政府办公室" in page
    assert page.count('data-status="queued"') == 2 and page.count("排队待签") >= 2
    assert 'name="position"' not in page
    # 承办 names the signing role, not the lane the step is drawn in (市县政府).
    assert f'<dd class="col-sm-9">住建 · {place}住房和城乡建设局</dd>' in page

    supervisor = signed_in(app, boss)
    page = supervisor.get(f"/tasks/{housing.id}").get_data(as_text=True)
    assert f"在{place}住房和城乡建设局之前签署" in page and 'value="after" checked' in page
    assert page.count('name="role" value="court"') == 1  # the queued court's 减签 form names its role
    added = supervisor.post(f"/tasks/{housing.id}/signers", data={
        "csrf_token": csrf(page), "role": "tax", "reason": "须税务先核", "position": "before"})
    assert added.status_code == 302
    [tax] = driver.open_tasks(case)
    assert added.headers["Location"].startswith(f"/tasks/{tax.id}")  # the withdrawn row's page would be stale
    shown = supervisor.get(added.headers["Location"]).get_data(as_text=True)
    assert f"已加签 {place}税务局，现由其先签署；原签署部门待其签署后重新签署。" in shown
    assert f"正在签署：{place}税务局；之后依次：{place}住房和城乡建设局、{place}人民法院" in shown

    form = shown[shown.index('name="role" value="court"') - 600:]
    removed = supervisor.post(f"/tasks/{tax.id}/remove-signer", data={
        "csrf_token": csrf(shown), "version": str(tax.version), "from": str(tax.id), "role": "court",
        "reason": "法院已另行出具意见"})
    after = _follow(supervisor, removed)
    assert "已减签。" in after and 'data-signer="court"' not in after and form
    added = supervisor.post(f"/tasks/{tax.id}/signers", data={
        "csrf_token": csrf(after), "role": "finance", "reason": "财政", "position": "middle"})
    assert "加签位置" in _follow(supervisor, added)
