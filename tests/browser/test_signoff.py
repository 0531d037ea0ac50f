"""会签 in a real browser: category 7's joint-meeting minutes go to four agencies of 榆树市; the tax
officer signs with an opinion, the city supervisor sees who still has to sign and adds 财政 (加签)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from models import Agency, Task

from .conftest import sign_in, sign_out

pytestmark = pytest.mark.browser

STEP = "c7_joint_meeting_signoff"


def test_a_signer_signs_and_the_supervisor_adds_a_signer(page, world, watch, snap) -> None:
    driver = world.driver
    case = driver.new_case(7, county="榆树市")
    driver.intake_and_classify(case)
    driver.complete(case, "c7_prepare_joint_meeting", in_provincial_ledger=True)
    driver.complete(case, "c7_joint_meeting", joint_meeting_date="2026-03-10")
    rows = world.session.scalars(select(Task).where(Task.case_id == case.id, Task.bpmn_id == STEP)).all()
    tax = next(r for r in rows if world.session.get(Agency, r.agency_id).name == "榆树市税务局")
    tax_officer = driver.officer_for(tax)
    supervisor = world.users["supervisor"]

    sign_in(page, world, tax_officer)
    page.goto(world.at(f"/tasks/{tax.id}"))
    panel = page.locator("#signoff")
    expect(panel).to_contain_text("会签情况")
    expect(page.locator("#signoff-waiting")).to_contain_text("榆树市人民政府办公室")
    page.locator("textarea[name='signoff_opinion']").fill("项目欠缴税费已核清，同意纪要。")
    snap("1-signer")
    page.locator("#task-form button[value='complete']").click()
    expect(page.locator(".alert-success")).to_contain_text("流程等待其他环节办理完毕后继续")
    sign_out(page)

    sign_in(page, world, supervisor)
    world.session.rollback()
    housing = next(r for r in driver.open_tasks(case) if r.bpmn_id == STEP)
    page.goto(world.at(f"/tasks/{housing.id}"))
    expect(page.locator('#signoff-signers tr[data-signer="tax"]')).to_contain_text("项目欠缴税费已核清")
    page.locator("#add-signer-box summary").click()
    page.locator("#add-signer-role").select_option("finance")
    page.locator("#add-signer-reason").fill("涉及补缴土地出让金，财政部门须会签")
    snap("2-add-signer")
    page.locator("#btn-add-signer").click()
    expect(page.locator(".alert-success")).to_contain_text("已加签 榆树市财政局")
    expect(page.locator('#signoff-signers tr[data-signer="finance"]')).to_contain_text("待签署")
    snap("3-added", page.locator("#signoff"))


def test_sequential_minutes_the_supervisor_adds_a_signer_before_the_court(page, world, watch, snap) -> None:
    """依次会签 of category 1's 府院联动 minutes: 住建 signs, the court's turn comes; the city supervisor
    puts 税务 before the court, whose task comes back once 税务 has signed."""
    driver = world.driver
    case = driver.new_case(1, county="榆树市")
    driver.intake_and_classify(case)
    driver.complete(case, "c1_prepare_linkage")
    driver.complete(case, "linkage_meeting")
    [housing] = driver.open_tasks(case)

    sign_in(page, world, driver.officer_for(housing))
    page.goto(world.at(f"/tasks/{housing.id}"))
    expect(page.locator("#signoff")).to_contain_text("依次会签情况")
    expect(page.locator("#signoff-waiting")).to_contain_text(
        "正在签署：榆树市住房和城乡建设局；之后依次：榆树市人民法院、榆树市人民政府办公室")
    page.locator("textarea[name='signoff_opinion']").fill("纪要已按会议议定事项起草，同意。")
    page.locator("#task-form button[value='complete']").click()
    expect(page.locator(".alert-success")).to_be_visible()
    sign_out(page)

    sign_in(page, world, world.users["supervisor"])
    world.session.rollback()
    [court] = driver.open_tasks(case)
    page.goto(world.at(f"/tasks/{court.id}"))
    expect(page.locator('#signoff-signers tr[data-signer="housing"]')).to_contain_text("纪要已按会议议定事项起草")
    page.locator("#add-signer-box summary").click()
    page.locator("#add-signer-role").select_option("tax")
    page.locator("#add-signer-before").check()
    page.locator("#add-signer-reason").fill("纪要涉及土地增值税清算，须税务部门先行核签")
    snap("1-add-before")
    page.locator("#btn-add-signer").click()
    expect(page.locator(".alert-success")).to_contain_text("已加签 榆树市税务局，现由其先签署")
    expect(page.locator("#signoff-waiting")).to_contain_text(
        "正在签署：榆树市税务局；之后依次：榆树市人民法院、榆树市人民政府办公室")
    expect(page.locator('#signoff-signers tr[data-signer="court"][data-status="cancelled"]')).to_have_count(1)
    expect(page.locator('#signoff-signers tr[data-signer="court"][data-status="queued"]')).to_have_count(1)
    snap("2-added", page.locator("#signoff"))
