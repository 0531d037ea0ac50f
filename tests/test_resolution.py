"""Households (issue 13, items 4 and 5): the count confirmed at intake is the case's; no signed or
resettled count exceeds it; 核验通过 and 销号 wait until every household is resolved by a mode the notice
allows, as workflows/resolution.py states once for every category; a 补充协议 records its four contents."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from models import Case
from tests.conftest import at
from workflows import processes, resolution, tasks
from workflows.errors import Invalid

ROOT = Path(__file__).resolve().parent.parent
LIFECYCLE = "case_lifecycle.bpmn"
SHARED = "shared_resettlement.bpmn"


def refused(driver, case, bpmn_id: str, **data) -> Invalid:  # noqa: ANN001
    with pytest.raises(Invalid) as caught:
        driver.complete(case, bpmn_id, **data)
    return caught.value


def to_return_verification(driver, case) -> None:  # noqa: ANN001
    """Category 2 up to 上级核验, every household signed and resettled."""
    driver.intake_and_classify(case)
    driver.complete(case, "urge_builder")
    driver.finish_construction(case)  # report, 住建 finds it built, deliver
    driver.complete(case, "sign_return_agreements", agreements_signed=case.households_overdue)
    driver.resettle_all(case)
    assert driver.open_ids(case) == ["verify"]


# --- the confirmed count is the case's --------------------------------------------------------------

def test_intake_confirmed_count_becomes_the_case_count_and_history_says_so(driver):
    case = driver.new_case(2, households=12, now=at("2026-03-02 09:00"))
    driver.complete(case, "intake_verify", households_confirmed=30, responsible_leader="王副县长")
    driver.session.refresh(case)
    assert case.households_overdue == 30
    assert [e.summary for e in driver.events(case, "case_updated")] == ["案件信息变更：逾期未安置户数 12 → 30"]
    # The process counts against 30 as well: 12 signed is not everyone, the street office goes on.
    driver.complete(case, "classify", category="2")
    driver.complete(case, "urge_builder")
    driver.finish_construction(case)  # report, 住建 finds it built, deliver
    driver.complete(case, "sign_return_agreements", agreements_signed=12)
    assert driver.open_ids(case) == ["sign_return_agreements"]
    driver.complete(case, "sign_return_agreements", agreements_signed=30)
    driver.complete(case, "record_resettlement", households_resettled=12)
    assert driver.open_ids(case) == ["record_resettlement"]
    driver.complete(case, "record_resettlement", households_resettled=30)
    driver.verify_and_close(case)
    assert case.households_resettled == 30


@pytest.mark.parametrize(("confirmed", "problem"), [(0, "不能小于 1"), (100_001, "不能大于 100000")])
def test_intake_count_out_of_bounds_is_refused(driver, confirmed, problem):
    case = driver.new_case(2)
    err = refused(driver, case, "intake_verify", households_confirmed=confirmed)
    assert err.errors["households_confirmed"] == [f"核实逾期未安置户数：{problem}"]
    driver.session.refresh(case)
    assert case.households_overdue == 12


def test_confirmed_count_never_goes_below_households_already_resettled():
    # Only intake writes the count today, before anyone is resettled; the check holds for any step
    # that declares case-field="households_overdue".
    case = Case(households_overdue=12, households_resettled=5)
    field = next(f for f in processes.current_bundle(ROOT / "bpmn").task_meta("case_lifecycle", "intake_verify").fields
                 if f.key == "households_confirmed")
    with pytest.raises(Invalid) as caught:
        tasks._apply_case_fields(case, (field,), {"households_confirmed": 4})
    assert caught.value.errors == {"households_confirmed": ["核实逾期未安置户数：不能少于已安置户数 5"]}
    assert case.households_overdue == 12
    assert tasks._apply_case_fields(case, (field,), {"households_confirmed": 5}) == {
        "households_overdue": {"from": 12, "to": 5}}


# --- no count above the case's ------------------------------------------------------------------------

def test_signed_and_resettled_counts_above_the_case_count_are_refused_naming_the_field(driver):
    case = driver.new_case(2, now=at("2026-03-02 09:00"))
    driver.intake_and_classify(case)
    driver.complete(case, "urge_builder")
    driver.finish_construction(case)  # report, 住建 finds it built, deliver
    err = refused(driver, case, "sign_return_agreements", agreements_signed=13)
    assert err.errors == {"agreements_signed": ["累计已签回迁安置协议户数：不能超过逾期未安置户数 12"]}
    assert "累计已签回迁安置协议户数：不能超过逾期未安置户数 12" in err.message
    driver.complete(case, "sign_return_agreements", agreements_signed=12)
    err = refused(driver, case, "record_resettlement", households_resettled=13)
    assert err.errors == {"households_resettled": ["累计已安置户数：不能超过逾期未安置户数 12"]}
    driver.session.refresh(case)
    assert case.households_resettled == 0


def test_supplementary_signers_above_the_case_count_are_refused(driver):
    case = driver.new_case(9, now=at("2026-03-02 09:00"))
    driver.intake_and_classify(case)
    driver.complete(case, "c9_confirm_dead_knot")
    driver.complete(case, "c9_draft_backstop_plan", needs_bond=False)
    driver.complete(case, "c9_review_backstop_plan", backstop_plan_approved=True)
    err = refused(driver, case, "survey_wishes", households_surveyed=40)
    assert err.errors == {"households_surveyed": ["已征求意见户数：不能超过逾期未安置户数 12"]}
    driver.complete(case, "survey_wishes", households_surveyed=12)
    driver.complete(case, "decide_mode", resettlement_mode="transitional")
    err = refused(driver, case, "sign_supplementary", supplementary_signed=13)
    assert err.errors == {"supplementary_signed": ["累计已签补充协议户数：不能超过逾期未安置户数 12"]}


# --- the supplementary agreement records its four contents --------------------------------------------

def to_supplementary(driver, case) -> None:  # noqa: ANN001
    driver.intake_and_classify(case)
    driver.complete(case, "c4_explain_delay", cannot_build_reason="funding")
    driver.complete(case, "c4_consult_residents")
    driver.complete(case, "survey_wishes")
    driver.complete(case, "decide_mode", resettlement_mode="transitional")
    assert driver.open_ids(case) == ["sign_supplementary"]


def test_supplementary_agreement_refuses_a_content_answered_no_or_missing(driver):
    case = driver.new_case(4, now=at("2026-03-02 09:00"))
    to_supplementary(driver, case)
    err = refused(driver, case, "sign_supplementary", rights_duties=False, voluntary_wait=None, other_terms=" ",
                  supplementary_date=None)
    assert err.errors == {
        "supplementary_date": ["本批补充协议签订日期：必填"],
        "rights_duties": ["协议已明确双方权利和义务：必须确认"],
        "voluntary_wait": ["协议已明确居民自愿等待回迁安置住房建成：必须确认"],
        "other_terms": ["其他约定条款（过渡期限、过渡费标准、回迁房交付时限等）：必填"],
    }
    assert err.message == "表单校验未通过：本批补充协议签订日期：必填（另有 3 个字段有误）"
    err = refused(driver, case, "sign_supplementary", risks_explained="否")
    assert err.errors == {"risks_explained": ["已向居民充分说明不利因素：必须确认"]}
    assert driver.open_ids(case) == ["sign_supplementary"]
    # Signed by 1 of 12: the agreement covers one household, the others are not yet waiting under it.
    driver.complete(case, "sign_supplementary", supplementary_signed=1)
    assert driver.open_ids(case) == ["sign_supplementary"]
    driver.complete(case, "sign_supplementary", supplementary_signed=12)
    assert driver.open_ids(case) == ["arrange_transition"]


# --- 核验通过 and 销号 wait for every household -------------------------------------------------------

def test_verification_cannot_pass_while_households_are_unresolved(driver):
    case = driver.new_case(2, now=at("2026-03-02 09:00"))
    to_return_verification(driver, case)
    driver.complete(case, "verify", verified=False)
    driver.complete(case, "rectify", households_resettled=9)  # a recount found 3 households not moved in
    err = refused(driver, case, "verify", verified=True)
    assert err.message == "尚有 3 户未落实安置（已安置 9/12 户），不能核验通过"
    assert err.errors == {"verified": ["尚有 3 户未落实安置（已安置 9/12 户），不能核验通过"]}
    assert driver.open_ids(case) == ["verify"]
    driver.complete(case, "verify", verified=False)
    driver.complete(case, "rectify", households_resettled=12)
    driver.verify_and_close(case)


def variant(tmp_path: Path, edits: dict[str, list[tuple[str, str]]]) -> Path:
    """bpmn/ with text replaced: a process version whose steps let a gap through to 销号."""
    directory = tmp_path / "variant"
    shutil.copytree(ROOT / "bpmn", directory)
    for file_name, replacements in edits.items():
        path = directory / file_name
        text = path.read_text(encoding="utf-8")
        for old, new in replacements:
            assert text.count(old) >= 1, old
            text = text.replace(old, new)
        path.write_text(text, encoding="utf-8")
    return directory


# A 核验 that does not apply the rule, as a version without it (or a careless edit) would have.
UNCHECKED_VERIFY = (LIFECYCLE, [('<hq:property name="requires" value="households_resolved"/>\n'
                                 '        <hq:property name="requires_when" value="verified"/>', "")])


def deploy_variant(driver, tmp_path, edits) -> None:  # noqa: ANN001
    assert processes.deploy(driver.session, variant(tmp_path, dict(edits)), deployed_by="tests").created


def test_closeout_refuses_unresolved_households_even_after_a_verification_that_passed(driver, tmp_path):
    deploy_variant(driver, tmp_path, [UNCHECKED_VERIFY])
    case = driver.new_case(2, now=at("2026-03-02 09:00"))
    to_return_verification(driver, case)
    driver.complete(case, "verify", verified=False)
    driver.complete(case, "rectify", households_resettled=9)
    driver.complete(case, "verify", verified=True)
    err = refused(driver, case, "closeout", closeout_date="2026-12-20")
    assert err.message == "尚有 3 户未落实安置（已安置 9/12 户），不能销号"
    assert err.errors == {"_": ["尚有 3 户未落实安置（已安置 9/12 户），不能销号"]}
    driver.session.refresh(case)
    assert case.status == "awaiting_closeout"
    assert driver.open_ids(case) == ["closeout"]


def test_closeout_refuses_a_return_without_signed_agreements(driver, tmp_path):
    # A version whose signing step lets 0 of 12 through: the rule, not the playbook, stops 销号.
    deploy_variant(driver, tmp_path, [UNCHECKED_VERIFY, (SHARED, [
        ("agreements_signed &gt;= households_overdue", "True"),
        ("agreements_signed &lt; households_overdue", "False")])])
    case = driver.new_case(2, now=at("2026-03-02 09:00"))
    driver.intake_and_classify(case)
    driver.complete(case, "urge_builder")
    driver.finish_construction(case)  # report, 住建 finds it built, deliver
    driver.complete(case, "sign_return_agreements", agreements_signed=0)
    driver.resettle_all(case)
    driver.complete(case, "verify", verified=True)
    err = refused(driver, case, "closeout", closeout_date="2026-12-20")
    assert err.message == "尚有 12 户未签回迁安置协议（已签 0/12 户），不能销号"


def test_closeout_refuses_a_supplementary_agreement_missing_a_content_or_households(driver, tmp_path):
    # A version whose agreement step takes "否" and 1 of 12 (as the one-boolean form did).
    deploy_variant(driver, tmp_path, [UNCHECKED_VERIFY, (SHARED, [
        (' must-be-true="true"', ""),
        ("supplementary_signed &gt;= households_overdue", "True"),
        ("supplementary_signed &lt; households_overdue", "False")])])
    case = driver.new_case(4, now=at("2026-03-02 09:00"))
    to_supplementary(driver, case)
    driver.complete(case, "sign_supplementary", supplementary_signed=1, voluntary_wait=False)
    driver.complete(case, "arrange_transition")
    driver.resettle_all(case)
    driver.complete(case, "verify", verified=True)
    err = refused(driver, case, "closeout", closeout_date="2026-12-20")
    assert err.message == ("尚有 11 户未签过渡性安置补充协议（已签 1/12 户）；补充协议缺少内容：自愿等待回迁房建成，"
                           "不能销号")
    driver.session.refresh(case)
    assert case.status == "awaiting_closeout"


# --- the rule itself, mode by mode --------------------------------------------------------------------

SIGNED = {"rights_duties": True, "risks_explained": True, "voluntary_wait": True, "other_terms": "过渡期两年",
          "supplementary_date": "2026-05-20"}


@pytest.mark.parametrize(("resettled", "data", "problems"), [
    (12, {"agreements_signed": 12}, []),
    (12, {"agreements_signed": 0}, ["尚有 12 户未签回迁安置协议（已签 0/12 户）"]),
    (9, {"agreements_signed": 12}, ["尚有 3 户未落实安置（已安置 9/12 户）"]),
    (12, {"resettlement_mode": "monetary", "compensation_amount": 860.0}, []),
    (12, {"resettlement_mode": "monetary", "compensation_amount": 0}, ["货币补偿资金未落实"]),
    (12, {"resettlement_mode": "offsite", "offsite_housing": "城东保障房小区"}, []),
    (12, {"resettlement_mode": "offsite"}, ["异地安置房源未落实"]),
    (12, {"resettlement_mode": "transitional", "supplementary_signed": 12, **SIGNED}, []),
    (12, {"resettlement_mode": "transitional", "supplementary_signed": 1, **SIGNED},
     ["尚有 11 户未签过渡性安置补充协议（已签 1/12 户）"]),
    (12, {"resettlement_mode": "transitional", "supplementary_signed": 12, "risks_explained": True},
     ["补充协议缺少内容：双方权利义务、自愿等待回迁房建成、其他约定、签订日期"]),
    (12, {"resettlement_mode": "transitional", "supplementary_signed": 12, **SIGNED, "other_terms": " "},
     ["补充协议缺少内容：其他约定"]),
    (12, {}, ["未记录安置方式（回迁安置协议，或货币化、异地、过渡性安置决定）"]),
    (12, {"resettlement_mode": "wait"}, ["安置方式“wait”不是规定的解决方式（回迁入住、货币化安置、异地安置、过渡性安置）"]),
])
def test_which_households_count_as_resolved(resettled, data, problems):
    assert resolution.unresolved(12, resettled, data) == problems
