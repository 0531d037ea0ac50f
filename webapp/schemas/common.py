"""Shared pieces: the error body, paging arguments and the paged envelope."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from workflows.inputs import MAX_PAGE

PER_PAGE_DEFAULT = 50


class ErrorSchema(Schema):
    code = fields.String(required=True, metadata={"description": "稳定的英文错误代码，如 not_found、invalid、stale"})
    message = fields.String(required=True, metadata={"description": "中文说明"})
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()),
                         metadata={"description": "按字段列出的错误"})


class PageArgs(Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=1_000_000),
                          metadata={"description": "页码，从 1 开始"})
    per_page = fields.Integer(load_default=PER_PAGE_DEFAULT, validate=validate.Range(min=1, max=MAX_PAGE),
                              metadata={"description": f"每页条数，1–{MAX_PAGE}"})


def paged(item: type[Schema], name: str) -> type[Schema]:
    """The envelope of a list: items, the page asked for, and the total within the caller's scope."""
    return Schema.from_dict({
        "items": fields.List(fields.Nested(item), required=True),
        "page": fields.Integer(required=True),
        "per_page": fields.Integer(required=True),
        "total": fields.Integer(required=True, metadata={"description": "调用者权限范围内的总条数"}),
    }, name=name)


class RegionRef(Schema):
    id = fields.Integer()
    code = fields.String()
    name = fields.String()
    level = fields.String()


class AgencyRef(Schema):
    id = fields.Integer()
    name = fields.String()
    role = fields.String()
    role_label = fields.String()
    region = fields.Nested(RegionRef)


class UserRef(Schema):
    id = fields.Integer()
    username = fields.String()
    display_name = fields.String()


class Label(fields.String):
    """The label of a coded value: Label(LEAD_TYPES, attribute="lead_type") dumps "政府主导"."""

    def __init__(self, labels: dict[Any, str], **kwargs: Any) -> None:
        super().__init__(dump_only=True, **kwargs)
        self.labels = labels

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        return None if value is None else self.labels.get(value, str(value))
