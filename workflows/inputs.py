"""Checks applied to whatever a person types or a script sends, before it reaches the database or
the workflow engine.

The two databases fail differently on hostile values: SQLite silently stores a NUL, an over-long
string or a JSON `Infinity`; PostgreSQL raises on a NUL, on a lone surrogate, on an out-of-range id.
Python itself raises on a 5,000-digit number or 50,000 nested brackets. So every entry point checks
here first and refuses with `Invalid` (or `NotFound` for an id that cannot exist), naming the field in
Chinese, before anything is read or written.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Generic, NoReturn, TypeVar

from .errors import Invalid, NotFound

INT64_MAX = 2**63 - 1
INT64_MIN = -(2**63)
# Integer columns are 32-bit on PostgreSQL (SQLite would take more, so only PostgreSQL would refuse).
INT32_MAX = 2**31 - 1
# Decimal fields are stored as JSON floats: past 2**53 a float no longer holds every whole number, and
# 10**15 万元 is far beyond any project's budget anyway.
DECIMAL_LIMIT = 10**15
MIN_YEAR, MAX_YEAR = 1900, 2100
# A 64-bit integer has 19 digits; with sign, point, exponent and padding 64 is ample. Checking the
# length first keeps int()/Decimal() from ever seeing thousands of digits.
NUMBER_TEXT_MAX = 64
DATE_TEXT_MAX = 32
# The CLI's --data is one task's form: a handful of fields, textareas up to 5,000 characters
# (30,000 bytes as \\uXXXX escapes). 1 MiB leaves room; form data is flat, so 8 levels is generous.
DATA_MAX_BYTES = 1 << 20
DATA_MAX_DEPTH = 8

_CONTROL_SINGLE_LINE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_CONTROL_MULTILINE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
_INT_TEXT = re.compile(r"[+-]?[0-9]+")
_ID_TEXT = re.compile(r"[0-9]+")
# A JSON string token (escapes included) or a bracket: what the depth scan needs to see.
_JSON_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]', re.DOTALL)


def refuse(field: str, label: str, problem: str) -> NoReturn:
    """Raise the one shape of error every check here uses: `标签：问题`, keyed by the field."""
    message = f"{label}：{problem}"
    raise Invalid(message, errors={field: [message]})


def printable(value: Any, limit: int = 60) -> str:
    """User-supplied text made safe to echo in a message: bounded, one line, encodable."""
    if not isinstance(value, str):
        # str() of a hostile object can itself fail (deep nesting, 5,000-digit ints); the type is enough.
        return f"<{type(value).__name__}>"
    shown = value[:limit]
    shown = _UNPRINTABLE.sub(lambda m: f"\\u{ord(m.group()):04x}", shown)
    return shown + ("…" if len(value) > limit else "")


def clean_text(value: Any, *, field: str, label: str, max_length: int, multiline: bool = False,
               strip: bool = True) -> str:
    """The text as it will be stored, or Invalid: not a string, too long, control characters (only
    \\n and \\t in multi-line text; \\r\\n becomes \\n), lone surrogates. `strip=False` checks the value
    exactly as given, for callers that store it unchanged."""
    if not isinstance(value, str):
        refuse(field, label, "应为文本")
    # Length before anything that walks the text, so a 10 MB value costs nothing more.
    if len(value) > max_length and (not strip or len(value.strip()) > max_length):
        refuse(field, label, f"不能超过 {max_length} 个字符")
    if strip:
        value = value.strip()
    if multiline:
        # Browsers submit textarea line breaks as \r\n.
        value = value.replace("\r\n", "\n").replace("\r", "\n")
    bad = (_CONTROL_MULTILINE if multiline else _CONTROL_SINGLE_LINE).search(value)
    if bad:
        name = "NUL" if bad.group() == "\x00" else f"U+{ord(bad.group()):04X}"
        refuse(field, label, f"不能包含控制字符（{name}）")
    if _SURROGATE.search(value):
        refuse(field, label, "含有无效字符（孤立的 UTF-16 代理码位），请检查文本编码")
    return value


def valid_id(value: Any) -> bool:
    """Whether `value` could be a row id: a positive integer within the id columns' 32 bits. Anything
    else makes a driver raise instead of finding nothing (PostgreSQL: "integer out of range" from
    2**31 on; SQLite: OverflowError past 64 bits)."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= INT32_MAX


def parse_id(text: str, *, field: str, label: str, not_found: str) -> int:
    """An id as typed: `247` or `#247` (as listings print it). Not a number: Invalid; a number no row
    can have: NotFound(not_found)."""
    digits = text.strip() if isinstance(text, str) else ""
    digits = digits[1:] if digits.startswith("#") else digits
    if not _ID_TEXT.fullmatch(digits):
        refuse(field, label, f"应为数字，如 247 或 #247（收到：{printable(text, 30)}）")
    # More digits than any 64-bit id: not found, without making int() chew on them.
    if len(digits.lstrip("0")) > 19 or not valid_id(int(digits)):
        raise NotFound(not_found)
    return int(digits)


_NON_FINITE_TEXT = {"nan", "snan", "inf", "infinity"}


def _bound(limit: float) -> str:
    # Bounds come from BPMN as floats ("0", "1") or from column widths (2147483647): show whole ones whole.
    return str(int(limit)) if float(limit).is_integer() and abs(limit) < 1e16 else f"{limit:g}"


def finite_number(value: Any, *, field: str, label: str, integer: bool = False,
                  minimum: float | None = None, maximum: float | None = None) -> int | float:
    """A finite number within [minimum, maximum] (and within 64 bits for integers, ±10**15 for
    decimals when no tighter bound is declared), as int or float; NaN, ±Infinity, booleans,
    non-integral values for integers, and over-long numerals are refused."""
    kind = "整数" if integer else "数值"
    number: int | float | Decimal
    if isinstance(value, bool) or value is None:
        refuse(field, label, f"应为{kind}")
    if isinstance(value, str):
        if len(value) > NUMBER_TEXT_MAX:
            refuse(field, label, "数字位数过多")
        text = value.strip()
        if text.lower().lstrip("+-") in _NON_FINITE_TEXT:
            refuse(field, label, "不能为 NaN 或无穷大")
        if integer:
            if not _INT_TEXT.fullmatch(text):
                refuse(field, label, "应为整数")
            number = int(text)
        else:
            try:
                number = Decimal(text)
            except InvalidOperation:
                refuse(field, label, "应为数值")
    elif isinstance(value, int):
        number = value
    elif isinstance(value, float | Decimal):
        if not (math.isfinite(value) if isinstance(value, float) else value.is_finite()):
            refuse(field, label, "不能为 NaN 或无穷大")
        if integer:
            refuse(field, label, "应为整数")
        number = value
    else:
        refuse(field, label, f"应为{kind}")
    if isinstance(number, Decimal) and not number.is_finite():  # "NaN123" and the like
        refuse(field, label, "不能为 NaN 或无穷大")
    # Compared exactly (int, Decimal and float compare exactly in Python), before any conversion, so a
    # 5,000-digit int or Decimal("1e400") is refused rather than overflowing float().
    if minimum is not None and number < minimum:
        refuse(field, label, f"不能小于 {_bound(minimum)}")
    if maximum is not None and number > maximum:
        refuse(field, label, f"不能大于 {_bound(maximum)}")
    low, high = (INT64_MIN, INT64_MAX) if integer else (-DECIMAL_LIMIT, DECIMAL_LIMIT)
    if number > high:
        refuse(field, label, "数值过大，超出允许范围")
    if number < low:
        refuse(field, label, "数值过小，超出允许范围")
    return int(number) if integer else float(number)


def sane_date(value: Any, *, field: str, label: str) -> date:
    """A calendar date (a `date` or ISO text) in 1900–2100; datetimes are refused, not truncated."""
    if isinstance(value, datetime):
        refuse(field, label, "应为日期，不含时间")
    if isinstance(value, str):
        if len(value) > DATE_TEXT_MAX:
            refuse(field, label, "应为日期，格式 YYYY-MM-DD")
        try:
            value = date.fromisoformat(value.strip())
        except ValueError:
            refuse(field, label, "应为日期，格式 YYYY-MM-DD")
    if not isinstance(value, date):
        refuse(field, label, "应为日期，格式 YYYY-MM-DD")
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        refuse(field, label, f"年份应在 {MIN_YEAR}–{MAX_YEAR} 之间")
    return value


class _Refused:
    """Stands in, during parsing, for a JSON number Python cannot or should not hold."""

    __slots__ = ("problem",)

    def __init__(self, problem: str) -> None:
        self.problem = problem


class _RefusedAt(Exception):
    def __init__(self, key: str, problem: str) -> None:
        super().__init__(problem)
        self.key = key
        self.problem = problem


def _parse_int(text: str) -> int | _Refused:
    # json would call int() on it: past 4,300 digits that raises ValueError, and anything past 19
    # digits is out of every field's range anyway.
    return _Refused("数字位数过多") if len(text) > 20 else int(text)


def _parse_float(text: str) -> float | _Refused:
    if len(text) > NUMBER_TEXT_MAX:
        return _Refused("数字位数过多")
    value = float(text)
    return value if math.isfinite(value) else _Refused("数值超出范围")  # 1e400 parses as inf


def _parse_constant(name: str) -> _Refused:
    return _Refused(f"不能为 NaN 或无穷大（收到 {name}）")


def _refused_in(value: Any) -> _Refused | None:
    if isinstance(value, _Refused):
        return value
    if isinstance(value, list):  # depth is bounded by the scan, so this recursion is too
        for item in value:
            found = _refused_in(item)
            if found:
                return found
    return None


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # Called for each object innermost first, so the key reported is the one whose value was refused.
    for key, value in pairs:
        found = _refused_in(value)
        if found:
            raise _RefusedAt(key, found.problem)
    return dict(pairs)


def _too_deep(text: str, max_depth: int) -> tuple[bool, str | None]:
    """Whether brackets nest deeper than max_depth (brackets inside strings don't count), and the
    top-level key under which that happens, when the top level is an object."""
    depth = 0
    top_is_object = False
    last_top_string: str | None = None
    for match in _JSON_TOKEN.finditer(text):
        token = match.group()
        if token in ("[", "{"):
            if depth == 0:
                top_is_object = token == "{"
            depth += 1
            if depth > max_depth:
                return True, last_top_string if top_is_object else None
        elif token in ("]", "}"):
            depth -= 1
        elif depth == 1:
            last_top_string = token
    return False, None


def loads_bounded(text: str, *, max_bytes: int = DATA_MAX_BYTES, max_depth: int = DATA_MAX_DEPTH,
                  field: str = "data", label: str = "--data") -> Any:
    """json.loads for untrusted text: size and nesting depth checked before parsing (json recurses,
    so 50,000 brackets would raise RecursionError); NaN/Infinity, numbers out of float range and
    integers of more than 20 characters refused, naming the key they sit under."""
    if not isinstance(text, str):
        refuse(field, label, "应为 JSON 文本")
    # Characters never outnumber UTF-8 bytes, so the cheap test settles most oversized input.
    if len(text) > max_bytes or len(text.encode("utf-8", "surrogatepass")) > max_bytes:
        limit = f"{max_bytes >> 20} MB" if max_bytes % (1 << 20) == 0 else f"{max_bytes} 字节"
        refuse(field, label, f"内容过大（不能超过 {limit}）")
    deep, token = _too_deep(text, max_depth)
    if deep:
        key = None
        if token is not None:
            try:
                key = json.loads(token)
            except ValueError:
                key = None
        where = f"字段 {printable(key)} " if isinstance(key, str) else ""
        problem = f"{where}嵌套层数过多（不能超过 {max_depth} 层）"
        refuse(printable(key) if isinstance(key, str) else field, label, problem)
    try:
        value = json.loads(text, parse_int=_parse_int, parse_float=_parse_float,
                           parse_constant=_parse_constant, object_pairs_hook=_object)
    except _RefusedAt as exc:
        refuse(printable(exc.key), label, f"字段 {printable(exc.key)} 的值无效：{exc.problem}")
    except json.JSONDecodeError as exc:
        refuse(field, label, f"不是合法的 JSON：{exc.msg}（第 {exc.pos + 1} 个字符）")
    except (ValueError, RecursionError):
        # Belt and braces: the checks above should leave json nothing to raise about.
        refuse(field, label, "不是合法的 JSON")
    found = _refused_in(value)
    if found:
        refuse(field, label, found.problem)
    return value


MAX_PAGE = 1000
MAX_OFFSET = 10**9
T = TypeVar("T")


def page_bounds(limit: int, offset: int) -> tuple[int, int]:
    """A list page of 1–MAX_PAGE rows; an offset past any real table size is clamped, since the
    database's integer would overflow on a 10^30 taken from a URL."""
    return max(1, min(int(limit), MAX_PAGE)), max(0, min(int(offset), MAX_OFFSET))


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list and how many rows the whole list has (within the caller's scope), as the
    API's paged envelope shows it."""

    items: list[T]
    total: int
    limit: int
    offset: int

    @property
    def per_page(self) -> int:
        return self.limit

    @property
    def page(self) -> int:
        return self.offset // self.limit + 1
