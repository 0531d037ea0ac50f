"""Sign-in, the caller (`me`) and personal API tokens."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from workflows.engine import clock

from .common import AgencyRef


class SignInSchema(Schema):
    username = fields.String(required=True, validate=validate.Length(min=1, max=64))
    password = fields.String(required=True, load_only=True, validate=validate.Length(min=1, max=256))
    remember = fields.Boolean(load_default=False)


class MeSchema(Schema):
    id = fields.Integer()
    username = fields.String()
    display_name = fields.String()
    role = fields.String(metadata={"description": "officer / supervisor / auditor / admin"})
    role_label = fields.String()
    agency = fields.Nested(AgencyRef)
    jurisdiction = fields.Function(lambda user: {"id": user.agency.region.id, "code": user.agency.region.code,
                                                 "name": user.agency.region.name,
                                                 "level": user.agency.region.level})
    last_sign_in_at = fields.DateTime(allow_none=True)


class TokenSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    prefix = fields.String(metadata={"description": "令牌开头几位，用于辨认"})
    created_at = fields.DateTime()
    expires_at = fields.DateTime(allow_none=True)
    last_used_at = fields.DateTime(allow_none=True)
    revoked_at = fields.DateTime(allow_none=True)
    # Usable now: neither revoked nor past its expiry (an expired token is refused like a revoked one).
    active = fields.Function(lambda t: t.revoked_at is None and (t.expires_at is None or t.expires_at > clock.now()),
                             metadata={"type": "boolean"})


class NewTokenArgs(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=100),
                         metadata={"description": "用途，如“财政局对账脚本”"})
    expires_in_days = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=1, max=3650))


class NewTokenSchema(Schema):
    """A token just created (workflows.auth.NewToken): its details and, this once, the secret."""

    id = fields.Integer(attribute="token.id")
    name = fields.String(attribute="token.name")
    prefix = fields.String(attribute="token.prefix")
    created_at = fields.DateTime(attribute="token.created_at")
    expires_at = fields.DateTime(attribute="token.expires_at", allow_none=True)
    token = fields.String(attribute="secret", metadata={"description": "令牌本身，只显示这一次，请妥善保存"})
