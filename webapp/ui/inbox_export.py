"""The inbox as an XLSX file: the filtered list's rows under headers in the reader's language (Chinese
by default), times in China time, column widths set, and a note when the list was longer than one
export takes."""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any
from urllib.parse import quote

from flask import Response
from flask_babel import gettext
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from models import CATEGORIES
from workflows import inbox
from workflows.engine.evaluator import CHINA

from . import N_

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
TIME_FORMAT = "yyyy-mm-dd hh:mm"
# (header, width in characters): a Chinese character is about two widths of a Latin one.
COLUMNS = ((N_("任务编号"), 10), (N_("任务"), 24), (N_("案件编号"), 18), (N_("项目名称"), 36), (N_("类别"), 28),
           (N_("办理部门"), 28), (N_("签收人"), 16), (N_("签收时间"), 17), (N_("下达时间"), 17), (N_("办理时限"), 17),
           (N_("时限情况"), 14), (N_("状态"), 8), (N_("办结时间"), 17))


def _naive_china(moment: datetime | None) -> datetime | None:
    # Excel has no time zones: the sheet shows the wall-clock time in China.
    return moment.astimezone(CHINA).replace(tzinfo=None) if moment is not None else None


def _cell(sheet: WriteOnlyWorksheet, value: Any, *, bold: bool = False) -> WriteOnlyCell:
    if isinstance(value, datetime):
        cell = WriteOnlyCell(sheet, value=value)
        cell.number_format = TIME_FORMAT
        return cell
    if isinstance(value, str):
        # Stored as text whatever it starts with: a project named "=HYPERLINK(…)" must not become a
        # formula in the reader's spreadsheet; characters XML cannot carry are dropped.
        cell = WriteOnlyCell(sheet, value=ILLEGAL_CHARACTERS_RE.sub("", value))
        cell.data_type = "s"
    else:
        cell = WriteOnlyCell(sheet, value=value)
    if bold:
        cell.font = Font(bold=True)
    return cell


def _row(item: inbox.ListedTask) -> list[Any]:
    task = item.task
    return [task.id, task.name, task.case.code, task.case.project_name,
            gettext("第%(category)s类 %(category_label)s", category=task.case.category,
                    category_label=gettext(CATEGORIES[task.case.category])), task.agency.name,
            task.assignee.display_name if task.assignee is not None else "",
            _naive_china(item.claimed_at), _naive_china(task.created_at), _naive_china(task.due_at),
            item.deadline.label, gettext(task.status_label), _naive_china(task.completed_at)]


def build_workbook(found: inbox.Listing, filters: Any, view_label: str, cap: int) -> bytes:
    """The XLSX bytes of a listing: sheet 任务列表 (header row, one row per task, a note row when cut
    at `cap`) and sheet 导出说明 (the filters and when it was exported)."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet(view_label)
    for index, (_, width) in enumerate(COLUMNS, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "A2"
    sheet.append([_cell(sheet, gettext(header), bold=True) for header, _ in COLUMNS])
    for item in found.rows:
        sheet.append([_cell(sheet, value) for value in _row(item)])
    if found.total > len(found.rows):
        sheet.append([_cell(sheet, gettext("仅导出前 %(shown)s 件（共 %(total)s 件，单次导出上限 %(cap)s 件），"
                                           "请缩小筛选范围后分批导出。", shown=len(found.rows), total=found.total,
                                           cap=cap), bold=True)])
    about = book.create_sheet(gettext("导出说明"))
    about.column_dimensions["A"].width = 12
    about.column_dimensions["B"].width = 40
    for label, value in ((gettext("视图"), view_label), (gettext("时限"), filters.due_label),
                         (gettext("类别"), filters.category_label), (gettext("案件"), filters.case or gettext("全部")),
                         (gettext("件数"), found.total), (gettext("导出时间"), _naive_china(found.now))):
        about.append([_cell(about, label, bold=True), _cell(about, value)])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def content_disposition(name: str, fallback: str) -> str:
    """`attachment` with an ASCII name for old clients and the Chinese one as RFC 5987 filename*."""
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


def workbook_response(found: inbox.Listing, filters: Any, view_label: str, cap: int) -> Response:
    stamp = found.now.astimezone(CHINA).strftime("%Y%m%d-%H%M")
    response = Response(build_workbook(found, filters, view_label, cap), mimetype=XLSX_MIME)
    response.headers["Content-Disposition"] = content_disposition(f"{view_label}任务_{stamp}.xlsx",
                                                                  f"inbox-{stamp}.xlsx")
    response.headers["Cache-Control"] = "no-store"  # a list of people's cases: not for shared caches
    return response
