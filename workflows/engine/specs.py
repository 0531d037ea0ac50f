"""Loading, validating and caching the BPMN process definitions.

Each file is parsed once per content hash and the resulting spec objects are shared by every case
(the spec/instance split): an instance stores only its state and a reference to the specs.
Everything a file says that will later be evaluated (conditions, timer expressions, scripts) is
checked against the restricted evaluator here, at load time, not first at run time.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnParser, BpmnValidator
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.bpmn.specs.bpmn_task_spec import _BpmnCondition
from SpiffWorkflow.bpmn.specs.event_definitions.conditional import ConditionalEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.service_task import ServiceTask

from models import AGENCY_ROLES

from ..errors import ProcessDefinitionError
from .evaluator import UnsafeExpression, check_expression, check_script
from .routing import DEFAULT_LEVEL, LEVELS, Lane, valid_codes

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
HQ_NS = "http://huiqian.org/schema/bpmn/1.0"
NS = {"bpmn": BPMN_NS, "hq": HQ_NS}

LIFECYCLE_PROCESS = "case_lifecycle"

FIELD_TYPES = {
    "text": "单行文本",
    "textarea": "多行文本",
    "integer": "整数",
    "decimal": "数值",
    "boolean": "是/否",
    "date": "日期",
    "enum": "单选",
    "file": "附件",
}
# Case attributes a form field may write back to the case (declared in BPMN as case-field="...").
CASE_FIELDS = {"households_overdue", "households_resettled", "category", "target_date", "responsible_leader"}
# Case attributes a number field may be bounded by (declared as max-case="..."): a form cannot know the
# case, so the service layer checks the submitted value against the case's own count.
CASE_BOUNDS = {"households_overdue": "逾期未安置户数"}
# Task properties the engine understands (declared as <hq:property name=".." value=".."/>).
# `requires` names a rule the service layer checks before the task may complete (see REQUIREMENTS);
# `requires_when` limits it to submissions where the named boolean field is true (verify: 核验通过).
# `sla_workdays` is the task's time limit in working days (办理时限), counted from when it opens.
TASK_PROPERTIES = {"case_status", "requires", "requires_when", "sla_workdays"}
# An SLA longer than a working year is not a time limit any more (about 250 working days a year).
SLA_MAX_WORKDAYS = 250
# Rules a task may require; each is implemented once in the service layer (workflows/resolution.py).
REQUIREMENTS = {"households_resolved": "全部逾期未安置户已按规定方式落实安置"}

# Attachments: a file field's value is a reference to an uploaded file, never the file. The types a
# field may accept are named by extension; each maps to the MIME types a browser reports for it, so
# the reference's content_type can be checked against what the BPMN allows. OFD is the national
# standard for electronic official documents (GB/T 33190), which government scans often come as.
FILE_TYPES: dict[str, tuple[str, ...]] = {
    ".pdf": ("application/pdf",),
    ".ofd": ("application/ofd",),
    ".jpg": ("image/jpeg",),
    ".jpeg": ("image/jpeg",),
    ".png": ("image/png",),
    ".tif": ("image/tiff",),
    ".tiff": ("image/tiff",),
    ".doc": ("application/msword",),
    ".docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document",),
    ".xls": ("application/vnd.ms-excel",),
    ".xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",),
}
# Signed agreements, rulings, minutes and certificates arrive as scans or PDFs.
DEFAULT_ACCEPT = (".pdf", ".jpg", ".jpeg", ".png")
DEFAULT_MAX_SIZE = 20 * 1024 * 1024
# A BPMN file may raise a field's limit, but not without bound: the storage behind it is shared.
MAX_FILE_SIZE = 200 * 1024 * 1024


@dataclass(frozen=True)
class FormField:
    key: str
    label: str
    type: str
    required: bool
    options: tuple[tuple[str, str], ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    case_field: str | None = None
    help: str | None = None
    # A boolean that only "yes" satisfies: a content an agreement must contain, confirmed by the officer.
    must_be_true: bool = False
    # A number that may not exceed this case attribute (CASE_BOUNDS), checked by the service layer.
    max_case: str | None = None
    # file fields: allowed extensions (FILE_TYPES) and the largest size in bytes.
    accept: tuple[str, ...] = ()
    max_size: int | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"key": self.key, "label": self.label, "type": self.type, "required": self.required}
        if self.options:
            out["options"] = [{"value": v, "label": lbl} for v, lbl in self.options]
        for name in ("minimum", "maximum", "case_field", "help", "max_case", "max_size"):
            if getattr(self, name) is not None:
                out[name] = getattr(self, name)
        if self.must_be_true:
            out["must_be_true"] = True
        if self.accept:
            out["accept"] = list(self.accept)
        return out


@dataclass(frozen=True)
class TaskMeta:
    process_id: str
    bpmn_id: str
    name: str
    lane: str  # the lane's stable key (routing.Lane.key: "housing", "supervision@parent"), what rows store
    fields: tuple[FormField, ...]
    properties: dict[str, str] = field(default_factory=dict)
    documentation: str = ""
    lane_label: str = ""  # the lane's name in the file, for people to read; free text, never a key
    sla_workdays: int | None = None  # 办理时限 in working days (property sla_workdays), None if none
    signoff: Signoff | None = None  # 会签/或签: one instance of the task per signing agency


SIGNOFF_MODES: dict[str, str] = {"all": "会签", "any": "或签", "sequence": "依次会签"}


@dataclass(frozen=True)
class Signoff:
    """A user task several agencies sign: a multi-instance in the BPMN, one instance per role of `roles`
    (hq:signoff), each routed to that role's agency of the case's place. `mode` follows from the loop:
    parallel without a completion condition = 会签 (all sign, in any order), parallel with `True` = 或签
    (the first signature ends it), sequential = 依次会签 (all sign, one after another in `roles` order,
    so a signer can be added before or after the one signing now)."""

    mode: str
    roles: tuple[str, ...]

    @property
    def sequential(self) -> bool:
        return self.mode == "sequence"

    @property
    def label(self) -> str:
        return SIGNOFF_MODES[self.mode]


@dataclass
class Bundle:
    """A consistent set of parsed processes: the lifecycle and everything it calls."""

    sources: dict[str, str]  # file name -> XML text
    file_of_process: dict[str, str]
    process_names: dict[str, str]
    spec: BpmnProcessSpec
    subprocess_specs: dict[str, BpmnProcessSpec]
    tasks: dict[tuple[str, str], TaskMeta]

    def file_hash(self, file_name: str) -> str:
        return hashlib.sha256(self.sources[file_name].encode()).hexdigest()

    def task_meta(self, process_id: str, bpmn_id: str) -> TaskMeta:
        return self.tasks[(process_id, bpmn_id)]


# Every element whose text SpiffWorkflow 3.2's plain BpmnParser hands to the script engine, and what to
# call it in a refusal. Read from SpiffWorkflow/bpmn/parser/: node_parser.parse_condition (flows),
# event_parsers (conditional events, timers), TaskParser (standard loop, multi-instance), AdHocParser
# (ad hoc completion), ScriptTaskParser (scripts), BpmnParser._add_correlations (message correlation).
# Searched anywhere in the document: the parser itself looks with './/' below each element.
EXPRESSION_TAGS: dict[str, str] = {
    "conditionExpression": "顺序流条件",
    "condition": "条件事件的条件",
    "loopCondition": "循环条件",
    "loopCardinality": "多实例数量",
    "completionCondition": "完成条件",
    "timeDate": "定时器日期",
    "timeDuration": "定时器时长",
    "timeCycle": "定时器周期",
}
UNSUPPORTED_TASKS = ("serviceTask", "sendTask", "receiveTask", "businessRuleTask")
# Wrappers that carry no id worth showing: a refusal names the flow node or flow around them.
_WRAPPER_SUFFIXES = ("EventDefinition", "LoopCharacteristics")


def _element_id(el: etree._Element) -> str:
    first = None
    while el is not None:
        if el.get("id"):
            first = first or el.get("id")
            if not (isinstance(el.tag, str) and el.tag.endswith(_WRAPPER_SUFFIXES)):
                return el.get("id")
        el = el.getparent()
    return first or "?"


def _snippet(text: str) -> str:
    """One line, short: a refusal is printed on a single line however the expression was written."""
    flat = " ".join(text.split())
    return flat if len(flat) <= 120 else flat[:120] + "…"


def _refuse(label: str, exc: UnsafeExpression, text: str | None, element_id: str | None,
            file_name: str | None) -> ProcessDefinitionError:
    shown = f"：{_snippet(text)}" if text and text.strip() else ""
    return ProcessDefinitionError(f"{label}被拒绝（{exc}）{shown}", element_id=element_id, file=file_name)


def _check_expressions(root: etree._Element, file_name: str) -> None:
    """First layer, on the XML: every expression position the parser reads, before the parser runs."""
    for tag, label in EXPRESSION_TAGS.items():
        for el in root.iter(f"{{{BPMN_NS}}}{tag}"):
            try:
                check_expression(el.text or "")
            except UnsafeExpression as exc:
                raise _refuse(f"{label}（{tag}）", exc, el.text, _element_id(el), file_name) from None
    for cpre in root.iter(f"{{{BPMN_NS}}}correlationPropertyRetrievalExpression"):
        # The parser takes the text of the first child node, whatever it is (a comment counts), so
        # every child is checked.
        for child in cpre:
            try:
                check_expression(child.text or "")
            except UnsafeExpression as exc:
                raise _refuse("消息关联表达式", exc, child.text, _element_id(cpre), file_name) from None
    for el in root.iter(f"{{{BPMN_NS}}}script"):
        try:
            check_script(el.text or "")
        except UnsafeExpression as exc:
            raise _refuse("脚本", exc, None, _element_id(el), file_name) from None
    for tag in UNSUPPORTED_TASKS:
        for el in root.iter(f"{{{BPMN_NS}}}{tag}"):
            raise ProcessDefinitionError(f"不支持的任务类型 {tag}", element_id=el.get("id"), file=file_name)


# Second layer, on the parsed objects: attribute names under which SpiffWorkflow keeps text it later
# evaluates. Matched by name so that an attribute of a spec class the XML list above did not foresee
# (a new event definition, a pre/post script) is still checked.
_SCRIPT_ATTRS = frozenset({"script", "prescript", "postscript"})
_EXPRESSION_ATTRS = frozenset({"condition", "cardinality", "expression", "completion_condition",
                               "retrieval_expression"})
# Compared word by word (split on "_"): "description" must not read as a script.
_EXPRESSION_WORD = re.compile(r"(expr|cond|cardinal)\w*|\w*script")


def _looks_like_expression(name: str) -> bool:
    return any(_EXPRESSION_WORD.fullmatch(word) for word in name.lower().split("_") if word)


def _attribute_expressions(obj: Any) -> Iterator[tuple[str, str, Any]]:
    """(kind, attribute name, value) of every expression-bearing attribute of a spec object."""
    for name, value in vars(obj).items():
        if name == "cond_task_specs":
            continue  # (Operator, target) pairs, handled by the caller
        if name in _SCRIPT_ATTRS:
            if value is not None:
                yield "script", name, value
        elif name in _EXPRESSION_ATTRS:
            if value is not None:
                yield "expression", name, value
        elif isinstance(value, str) and _looks_like_expression(name):
            yield ("script" if name.lower().endswith("script") else "expression"), name, value


def _event_expressions(event_definition: Any) -> Iterator[tuple[str, str, Any]]:
    yield from _attribute_expressions(event_definition)
    if isinstance(event_definition, TimerEventDefinition | ConditionalEventDefinition) and getattr(
        event_definition, "expression", None
    ) is None:
        yield "expression", "expression", None  # an empty timer or condition is refused too
    for prop in getattr(event_definition, "correlation_properties", None) or ():
        yield "expression", "retrieval_expression", getattr(prop, "retrieval_expression", None)
    for inner in getattr(event_definition, "event_definitions", None) or ():
        yield from _event_expressions(inner)


_ATTR_LABELS = {
    "condition": "条件", "cardinality": "多实例数量", "expression": "表达式", "completion_condition": "完成条件",
    "retrieval_expression": "消息关联表达式", "script": "脚本", "prescript": "前置脚本", "postscript": "后置脚本",
}


def _check_one(kind: str, value: Any) -> None:
    if kind == "script":
        check_script(value)
    elif value is None or isinstance(value, str):
        check_expression(value or "")  # an empty one is refused as empty
    else:
        raise UnsafeExpression(f"不支持的表达式类型 {type(value).__name__}")


def check_spec_expressions(specs: Iterable[BpmnProcessSpec]) -> None:
    """Second layer, on the parsed specs: every expression SpiffWorkflow will evaluate, wherever the
    parser put it. Raises ProcessDefinitionError naming the BPMN element and file."""
    seen: set[int] = set()
    for spec in specs:
        if spec is None or id(spec) in seen:
            continue
        seen.add(id(spec))
        file_name = getattr(spec, "file", None)
        for kind, name, value in _attribute_expressions(spec):
            try:
                _check_one(kind, value)
            except UnsafeExpression as exc:
                raise _refuse(f"流程的{_ATTR_LABELS.get(name, name)}", exc, value if isinstance(value, str) else None,
                              spec.name, file_name) from None
        for task_spec in spec.task_specs.values():
            element_id = getattr(task_spec, "bpmn_id", None) or task_spec.name
            if isinstance(task_spec, ServiceTask):
                raise ProcessDefinitionError("不支持服务任务", element_id=element_id, file=file_name)
            found = list(_attribute_expressions(task_spec))
            event_definition = getattr(task_spec, "event_definition", None)
            if event_definition is not None:
                found.extend(_event_expressions(event_definition))
            for cond, target in getattr(task_spec, "cond_task_specs", None) or ():
                if cond is None:
                    continue
                if not isinstance(cond, _BpmnCondition):
                    raise ProcessDefinitionError(f"通往 {target} 的条件类型 {type(cond).__name__} 不受支持",
                                                 element_id=element_id, file=file_name)
                found.append(("expression", f"通往 {target} 的网关条件", cond.args[0] if cond.args else None))
            for kind, name, value in found:
                try:
                    _check_one(kind, value)
                except UnsafeExpression as exc:
                    label = _ATTR_LABELS.get(name, name)
                    raise _refuse(label, exc, value if isinstance(value, str) and kind != "script" else None,
                                  element_id, file_name) from None


def _parse_field(el: etree._Element, task_id: str, file_name: str) -> FormField:
    key, label, ftype = el.get("key"), el.get("label"), el.get("type", "text")
    where = {"element_id": task_id, "file": file_name}
    if not key or not key.isidentifier() or key.startswith("_"):
        raise ProcessDefinitionError(f"表单字段 key 无效：{key!r}", **where)
    if not label:
        raise ProcessDefinitionError(f"表单字段 {key} 缺少中文标签 label", **where)
    if ftype not in FIELD_TYPES:
        raise ProcessDefinitionError(f"表单字段 {key} 的类型 {ftype!r} 不受支持", **where)
    options = tuple((o.get("value"), o.get("label") or o.get("value")) for o in el.findall("hq:option", NS))
    if ftype == "enum" and not options:
        raise ProcessDefinitionError(f"单选字段 {key} 没有选项", **where)
    case_field = el.get("case-field")
    if case_field and case_field not in CASE_FIELDS:
        raise ProcessDefinitionError(f"表单字段 {key} 的 case-field {case_field!r} 不受支持", **where)

    required = el.get("required", "false") == "true"

    def num(name: str) -> float | None:
        return float(el.get(name)) if el.get(name) is not None else None

    must_be_true = el.get("must-be-true", "false") == "true"
    if must_be_true and ftype != "boolean":
        raise ProcessDefinitionError(f"表单字段 {key} 不是是/否字段，不能声明 must-be-true", **where)
    if must_be_true and not required:
        # "Not answered" must not pass where only "yes" does.
        raise ProcessDefinitionError(f"表单字段 {key} 声明了 must-be-true，须同时 required=\"true\"", **where)
    max_case = el.get("max-case")
    if max_case is not None:
        if max_case not in CASE_BOUNDS:
            raise ProcessDefinitionError(f"表单字段 {key} 的 max-case {max_case!r} 不受支持"
                                         f"（可用：{'、'.join(CASE_BOUNDS)}）", **where)
        if ftype not in ("integer", "decimal"):
            raise ProcessDefinitionError(f"表单字段 {key} 不是数字字段，不能声明 max-case", **where)
    accept: tuple[str, ...] = ()
    max_size: int | None = None
    if ftype == "file":
        accept, max_size = _parse_file_limits(el, key, where)
    elif el.get("accept") is not None or el.get("max-size") is not None:
        raise ProcessDefinitionError(f"表单字段 {key} 不是附件字段，不能声明 accept 或 max-size", **where)
    return FormField(key=key, label=label, type=ftype, required=required,
                     options=options, minimum=num("min"), maximum=num("max"), case_field=case_field,
                     help=el.get("help"), must_be_true=must_be_true, max_case=max_case, accept=accept,
                     max_size=max_size)


def _parse_file_limits(el: etree._Element, key: str, where: dict[str, str]) -> tuple[tuple[str, ...], int]:
    """accept=".pdf,.jpg" (extensions known to FILE_TYPES) and max-size in bytes, with defaults."""
    raw_accept = el.get("accept")
    if raw_accept is None:
        accept = DEFAULT_ACCEPT
    else:
        accept = tuple(dict.fromkeys(t.strip().lower() for t in raw_accept.split(",") if t.strip()))
        unknown = [t for t in accept if t not in FILE_TYPES]
        if not accept or unknown:
            shown = "、".join(unknown) or "（空）"
            raise ProcessDefinitionError(f"附件字段 {key} 的 accept 含不支持的类型 {shown}"
                                         f"（可用：{' '.join(FILE_TYPES)}）", **where)
    raw_size = el.get("max-size")
    if raw_size is None:
        return accept, DEFAULT_MAX_SIZE
    if not raw_size.strip().isdigit() or not 0 < int(raw_size) <= MAX_FILE_SIZE:
        raise ProcessDefinitionError(f"附件字段 {key} 的 max-size 应为 1–{MAX_FILE_SIZE} 之间的字节数", **where)
    return accept, int(raw_size)


_HQ_ROLE = f"{{{HQ_NS}}}role"
_HQ_LEVEL = f"{{{HQ_NS}}}level"


def _parse_lane(el: etree._Element, file_name: str) -> Lane:
    """A lane's identity is its hq:role (and hq:level), not its name: a modeler may rename a lane
    freely, and the name is only shown to people."""
    name = (el.get("name") or "").strip()
    shown = f"泳道「{name}」" if name else "泳道"
    where = {"element_id": el.get("id"), "file": file_name}
    role = el.get(_HQ_ROLE)
    if not role:
        raise ProcessDefinitionError(f"{shown}没有声明部门角色 hq:role（可用：{valid_codes()}）", **where)
    if role not in AGENCY_ROLES:
        raise ProcessDefinitionError(f"{shown}的部门角色 hq:role={role!r} 未知（可用：{valid_codes()}）", **where)
    level = el.get(_HQ_LEVEL, DEFAULT_LEVEL)
    if level not in LEVELS:
        levels = "、".join(f"{code}（{label}）" for code, label in LEVELS.items())
        raise ProcessDefinitionError(f"{shown}的层级 hq:level={level!r} 未知（可用：{levels}）", **where)
    return Lane(role, level, name)  # an unnamed lane is shown by its role's label (Lane.display)


def _check_requirement(props: dict[str, str], fields: tuple[FormField, ...], tid: str, file_name: str) -> None:
    """A task's `requires` names a known rule; `requires_when` names a boolean field of the same task."""
    where = {"element_id": tid, "file": file_name}
    rule, when = props.get("requires"), props.get("requires_when")
    if rule is not None and rule not in REQUIREMENTS:
        raise ProcessDefinitionError(f"任务属性 requires 的值 {rule!r} 未知（可用：{'、'.join(REQUIREMENTS)}）", **where)
    if when is not None:
        if rule is None:
            raise ProcessDefinitionError("任务属性 requires_when 须与 requires 同时声明", **where)
        if not any(f.key == when and f.type == "boolean" for f in fields):
            raise ProcessDefinitionError(f"任务属性 requires_when 应为本任务的是/否字段，{when!r} 不是", **where)


def _parse_sla(props: dict[str, str], tid: str, file_name: str) -> int | None:
    """The task's `sla_workdays`: a whole number of working days, 1–SLA_MAX_WORKDAYS, written plainly."""
    if "sla_workdays" not in props:
        return None
    raw = props["sla_workdays"] or ""  # <hq:property name="sla_workdays"/> without a value is refused too
    text = raw.strip()
    # ASCII digits only: str.isdigit() would take "５" or "²", which int() reads or refuses unpredictably.
    if not (text.isascii() and text.isdigit() and len(text) <= 3 and 1 <= int(text) <= SLA_MAX_WORKDAYS):
        raise ProcessDefinitionError(f"任务属性 sla_workdays 应为 1–{SLA_MAX_WORKDAYS} 之间的工作日数，"
                                     f"收到 {_snippet(raw)!r}", element_id=tid, file=file_name)
    return int(text)


def _parse_signoff(ut: etree._Element, tid: str, file_name: str) -> Signoff | None:
    """A task's sign-off: hq:signoff roles="government housing …" on a multi-instance whose cardinality
    is the number of roles (parallel: 会签/或签; sequential: 依次会签 in the order of roles); a
    multi-instance without hq:signoff, or the other way round, is refused (the engine would not know
    whose inbox each instance goes to)."""
    where = {"element_id": tid, "file": file_name}
    loop = ut.find("bpmn:multiInstanceLoopCharacteristics", NS)
    declared = ut.find(".//hq:signoff", NS)
    if loop is None and declared is None:
        return None
    if loop is None or declared is None:
        raise ProcessDefinitionError("会签任务须同时声明多实例（multiInstanceLoopCharacteristics）和 hq:signoff", **where)
    sequential = loop.get("isSequential") in ("true", "1")
    roles = tuple((declared.get("roles") or "").split())
    if not roles or len(roles) != len(set(roles)):
        raise ProcessDefinitionError("hq:signoff 的 roles 应列出不重复的部门角色", **where)
    for role in roles:
        if role not in AGENCY_ROLES:
            raise ProcessDefinitionError(f"hq:signoff 的部门角色 {role!r} 未知（可用：{valid_codes()}）", **where)
    cardinality = loop.find("bpmn:loopCardinality", NS)
    if cardinality is None or (cardinality.text or "").strip() != str(len(roles)):
        raise ProcessDefinitionError(f"会签任务的多实例数量（loopCardinality）应为 {len(roles)}，与 hq:signoff 的部门数一致",
                                     **where)
    if loop.find("bpmn:loopDataInputRef", NS) is not None or loop.find("bpmn:loopDataOutputRef", NS) is not None:
        raise ProcessDefinitionError("会签任务按 hq:signoff 的部门生成实例，不使用 loopDataInputRef/OutputRef", **where)
    condition = loop.find("bpmn:completionCondition", NS)
    text = (condition.text or "").strip() if condition is not None else ""
    if sequential and text:
        raise ProcessDefinitionError("依次会签（isSequential=true）须全部部门依次签署，不能声明完成条件"
                                     "（completionCondition）", **where)
    if text not in ("", "True"):
        raise ProcessDefinitionError("会签任务的完成条件（completionCondition）只能省略（会签：全部签署）"
                                     "或为 True（或签：任一部门签署即完成）", **where)
    return Signoff("sequence" if sequential else "any" if text == "True" else "all", roles)


def _collect_tasks(root: etree._Element, file_name: str) -> dict[tuple[str, str], TaskMeta]:
    tasks: dict[tuple[str, str], TaskMeta] = {}
    for process in root.iter(f"{{{BPMN_NS}}}process"):
        pid = process.get("id")
        lane_of: dict[str, Lane] = {}
        for lane_el in process.iter(f"{{{BPMN_NS}}}lane"):
            lane = _parse_lane(lane_el, file_name)
            for ref in lane_el.findall("bpmn:flowNodeRef", NS):
                lane_of[(ref.text or "").strip()] = lane
        for ut in process.iter(f"{{{BPMN_NS}}}userTask", f"{{{BPMN_NS}}}manualTask"):
            tid = ut.get("id")
            if tid not in lane_of:
                raise ProcessDefinitionError("人工任务必须放在一个部门泳道内", element_id=tid, file=file_name)
            if not ut.get("name"):
                raise ProcessDefinitionError("人工任务缺少名称", element_id=tid, file=file_name)
            fields = tuple(_parse_field(f, tid, file_name) for f in ut.findall(".//hq:form/hq:field", NS))
            keys = [f.key for f in fields]
            if len(keys) != len(set(keys)):
                raise ProcessDefinitionError("表单字段 key 重复", element_id=tid, file=file_name)
            props = {p.get("name"): p.get("value") for p in ut.findall(".//hq:property", NS)}
            for name in props:
                if name not in TASK_PROPERTIES:
                    raise ProcessDefinitionError(f"未知的任务属性 {name!r}", element_id=tid, file=file_name)
            _check_requirement(props, fields, tid, file_name)
            sla = _parse_sla(props, tid, file_name)
            doc = ut.find("bpmn:documentation", NS)
            lane = lane_of[tid]
            tasks[(pid, tid)] = TaskMeta(pid, tid, ut.get("name"), lane.key, fields, props,
                                         (doc.text or "").strip() if doc is not None else "",
                                         lane_label=lane.display, sla_workdays=sla,
                                         signoff=_parse_signoff(ut, tid, file_name))
    return tasks


def parse_sources(sources: dict[str, str], *, top: str = LIFECYCLE_PROCESS, xsd: bool = False,
                  require_top: bool = True) -> Bundle:
    """Parse and validate a set of BPMN sources; raise ProcessDefinitionError naming the element."""
    parser = BpmnParser(validator=BpmnValidator() if xsd else None)
    tasks: dict[tuple[str, str], TaskMeta] = {}
    file_of_process: dict[str, str] = {}
    names: dict[str, str] = {}
    for file_name, text in sorted(sources.items()):
        try:
            root = etree.fromstring(text.encode())
        except etree.XMLSyntaxError as exc:
            raise ProcessDefinitionError(f"XML 格式错误：{exc}", file=file_name) from None
        _check_expressions(root, file_name)
        tasks.update(_collect_tasks(root, file_name))
        for process in root.iter(f"{{{BPMN_NS}}}process"):
            file_of_process[process.get("id")] = file_name
            names[process.get("id")] = process.get("name") or process.get("id")
        try:
            parser.add_bpmn_xml(etree.ElementTree(root), filename=file_name)
        except ValidationException as exc:
            raise ProcessDefinitionError(str(exc).splitlines()[0], element_id=getattr(exc, "id", None),
                                         file=file_name) from None
        except Exception as exc:  # the XSD validator and the parser raise assorted types
            raise ProcessDefinitionError(str(exc).splitlines()[0], file=file_name) from None
    try:
        all_specs = {pid: parser.get_spec(pid) for pid in parser.get_process_ids()}
        if top in all_specs:
            spec = all_specs[top]
            subprocess_specs = parser.get_subprocess_specs(top)
        elif require_top:
            raise ProcessDefinitionError(f"缺少生命周期流程 {top}")
        else:
            spec, subprocess_specs = None, {}
            for pid in all_specs:
                parser.get_subprocess_specs(pid)
    except ValidationException as exc:
        raise ProcessDefinitionError(str(exc).splitlines()[0], element_id=getattr(exc, "id", None),
                                     file=getattr(exc, "file_name", None)) from None
    # Every spec the parser built, embedded sub-processes and ad hoc ones included.
    check_spec_expressions([*all_specs.values(), *subprocess_specs.values(),
                            *(p.spec for p in parser.process_parsers.values())])
    return Bundle(sources=dict(sources), file_of_process=file_of_process, process_names=names, spec=spec,
                  subprocess_specs=subprocess_specs, tasks=tasks)


_DECLARED_ENCODING = re.compile(rb"""^(?:\xef\xbb\xbf)?<\?xml\s[^>]*?\bencoding\s*=\s*(["'])([A-Za-z][A-Za-z0-9._-]{0,39})\1""")
_DECLARATION_ENCODING = re.compile(r"""^(\ufeff?<\?xml\s[^>]*?\bencoding\s*=\s*)(["'])[^"']*\2""")


def decode_source(file_name: str, raw: bytes) -> str:
    """A BPMN file's bytes as text, decoded as its XML declaration says (UTF-8 when it says nothing).

    Sources are stored and hashed as text and parsed again from UTF-8, so a declaration naming another
    encoding (encoding="GBK") is rewritten to UTF-8; left as it was, lxml would read the UTF-8 bytes as
    GBK. Bytes that do not decode as declared are a ProcessDefinitionError naming the file.
    """
    declared = _DECLARED_ENCODING.match(raw)
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        encoding = "UTF-16"
    else:
        encoding = declared.group(2).decode("ascii") if declared else "UTF-8"
    try:
        text = raw.decode(encoding)
    except LookupError:
        raise ProcessDefinitionError(f"XML 声明的编码 {encoding} 无法识别，请以 UTF-8 保存", file=file_name) from None
    except UnicodeDecodeError as exc:
        said = f"与其 XML 声明的编码 {encoding} 不符" if declared else "不是 UTF-8 编码，也没有声明其他编码"
        raise ProcessDefinitionError(f"文件内容{said}：第 {exc.start + 1} 字节起无法解码（请以 UTF-8 保存，或改正"
                                     f" encoding 声明）", file=file_name) from None
    if encoding.lower().replace("_", "-") not in ("utf-8", "utf8"):
        text = text.lstrip("\ufeff")
        text = _DECLARATION_ENCODING.sub(r"\1\2UTF-8\2", text, count=1)
    # As text-mode reading did before: the same sources, and so the same content hash, as then.
    return text.replace("\r\n", "\n").replace("\r", "\n")


def read_directory(path: str | Path) -> dict[str, str]:
    """Every .bpmn file of `path` as text by name (see decode_source)."""
    files = sorted(Path(path).glob("*.bpmn"))
    return {f.name: decode_source(f.name, f.read_bytes()) for f in files}


_bundle_cache: dict[str, Bundle] = {}


def bundle_key(sources: dict[str, str]) -> str:
    digest = hashlib.sha256()
    for name in sorted(sources):
        digest.update(name.encode() + b"\0" + sources[name].encode() + b"\0")
    return digest.hexdigest()


def cached_bundle(key: str) -> Bundle | None:
    """The bundle already parsed for this content hash (see bundle_key), if any."""
    return _bundle_cache.get(key)


def load_bundle(sources: dict[str, str]) -> Bundle:
    """Parse once per distinct content; later calls with the same sources share the objects."""
    key = bundle_key(sources)
    if key not in _bundle_cache:
        _bundle_cache[key] = parse_sources(sources)
    return _bundle_cache[key]
