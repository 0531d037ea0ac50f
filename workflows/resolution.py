"""When a household counts as resolved (已落实安置): stated once, here, for every category.

A case is judged by households, not by steps done (seed 001 counts "解决1823户"), so 核验通过 and 销号
are refused until every overdue household is resolved by one of the modes 吉安居办〔2020〕18号 二(二)
allows. The lifecycle's `verify` and `closeout` tasks declare `<hq:property name="requires"
value="households_resolved"/>`; the service layer (tasks.complete_task) applies `require` below to the
case and the process data at that task, whatever category the case went through.

The rule:

- 回迁入住 (mode "return"): the return flat is delivered and the household has moved in, under a signed
  回迁安置协议 (二、五 组织逾期未安置居民签订回迁安置协议; the playbooks' sign_return_agreements). Every
  household needs its agreement: `agreements_signed` must reach the case's count.
- 货币化安置 ("monetary"): compensation paid; the finance step must have secured a positive amount.
- 异地安置 ("offsite"): an off-site flat delivered; the housing step must have named its source.
- 过渡性安置 ("transitional"): counts as resolved only under a 补充协议 signed by every waiting household
  that records what 四 requires of it — 明确权利和义务, 充分说明不利因素, 明确自愿等待回迁安置住房建成, 其它条款
  — and the date it was signed. The notice names 过渡性安置 among the ways the problem is 解决 (一, 三, 九)
  and 整改 (四), on that condition: a household that agreed in writing to wait on those terms is no longer
  owed a flat by a date that has passed. Without the agreement, or with a content missing, it is not
  resolved, however the arrangement is otherwise made.

In every mode the case's own count (`households_resettled`, 累计已安置户数, registered by 住建 at
record_resettlement) must equal `households_overdue`. The mode is one per case: the playbooks either
decide it (decide_mode: `resettlement_mode`) or take the return path (`agreements_signed`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from models import Case

from .engine.specs import REQUIREMENTS
from .errors import Invalid

# The modes that resolve a household, by the value the process data carries.
MODES: dict[str, str] = {
    "return": "回迁入住",
    "monetary": "货币化安置",
    "offsite": "异地安置",
    "transitional": "过渡性安置",
}
# The four contents 四 requires of a 补充协议, by the form field that records each (sign_supplementary).
SUPPLEMENTARY_CONTENTS: dict[str, str] = {
    "rights_duties": "双方权利义务",
    "risks_explained": "不利因素已告知",
    "voluntary_wait": "自愿等待回迁房建成",
    "other_terms": "其他约定",
}
SUPPLEMENTARY_DATE = "supplementary_date"


def mode_of(data: Mapping[str, Any]) -> str | None:
    """The case's resettlement mode as the process recorded it: a decided mode, else the return path."""
    decided = data.get("resettlement_mode")
    if decided is not None:
        return decided if isinstance(decided, str) else str(decided)
    if "agreements_signed" in data:
        return "return"
    return None


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _recorded(value: Any) -> bool:
    """A content is recorded when confirmed (True) or written out (non-blank text)."""
    return value is True or (isinstance(value, str) and bool(value.strip()))


def unresolved(households_overdue: int, households_resettled: int, data: Mapping[str, Any]) -> list[str]:
    """What keeps the case from counting as resolved, one Chinese sentence each; empty when resolved."""
    total = households_overdue
    problems: list[str] = []
    if households_resettled < total:
        problems.append(f"尚有 {total - households_resettled} 户未落实安置（已安置 {households_resettled}/{total} 户）")
    mode = mode_of(data)
    if mode is None:
        problems.append("未记录安置方式（回迁安置协议，或货币化、异地、过渡性安置决定）")
    elif mode not in MODES:
        problems.append(f"安置方式“{mode[:40]}”不是规定的解决方式（{'、'.join(MODES.values())}）")
    elif mode == "return":
        signed = _count(data.get("agreements_signed"))
        if signed < total:
            problems.append(f"尚有 {total - signed} 户未签回迁安置协议（已签 {signed}/{total} 户）")
    elif mode == "transitional":
        signed = _count(data.get("supplementary_signed"))
        if signed < total:
            problems.append(f"尚有 {total - signed} 户未签过渡性安置补充协议（已签 {signed}/{total} 户）")
        missing = [label for key, label in SUPPLEMENTARY_CONTENTS.items() if not _recorded(data.get(key))]
        if not _recorded(data.get(SUPPLEMENTARY_DATE)):
            missing.append("签订日期")
        if missing:
            problems.append(f"补充协议缺少内容：{'、'.join(missing)}")
    elif mode == "monetary":
        amount = data.get("compensation_amount")
        if isinstance(amount, bool) or not isinstance(amount, int | float) or not amount > 0:
            problems.append("货币补偿资金未落实")
    elif mode == "offsite" and not _recorded(data.get("offsite_housing")):
        problems.append("异地安置房源未落实")
    return problems


def require(rule: str, case: Case, data: Mapping[str, Any], *, action: str, field: str | None = None) -> None:
    """Raise Invalid naming what is unresolved ("…，不能销号"), keyed by `field` (or "_" for the form)."""
    # The loader refuses a rule not in REQUIREMENTS; this module implements the one there is.
    if rule != "households_resolved" or rule not in REQUIREMENTS:
        raise ValueError(f"unknown requirement {rule!r}")
    problems = unresolved(case.households_overdue, case.households_resettled, data)
    if problems:
        message = f"{'；'.join(problems)}，不能{action}"
        raise Invalid(message, errors={field or "_": [message]})
