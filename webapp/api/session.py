"""Sign-in for the API and the browser (a session cookie), the caller, and personal API tokens."""

from __future__ import annotations

from typing import Any

from flask import current_app

from workflows import auth as auth_service

from .. import auth, get_session, limiter
from ..schemas.auth import MeSchema, NewTokenArgs, NewTokenSchema, SignInSchema, TokenSchema
from ..schemas.common import ErrorSchema
from . import Blueprint

blp = Blueprint("session", __name__, description="登录、当前用户与个人接口令牌")


def _sign_in_limit() -> str:
    return current_app.config["SIGN_IN_RATE_LIMIT"]


@blp.route("/session", methods=["POST"])
@limiter.limit(_sign_in_limit, error_message="该地址登录尝试过于频繁，请稍后再试")
@blp.arguments(SignInSchema)
@blp.response(200, MeSchema)
@blp.alt_response(401, schema=ErrorSchema, description="用户名或密码错误，或账户已锁定（说明锁定到何时）")
@blp.alt_response(429, schema=ErrorSchema, description="同一地址尝试过于频繁")
@blp.doc(security=[])
def sign_in(args: dict[str, Any]) -> Any:
    """登录：用户名和密码正确时建立浏览器会话（Cookie）并返回当前用户。

    连续 10 次密码错误，该账户锁定 15 分钟；同一地址的尝试次数另有限制。"""
    return auth.sign_in(args["username"], args["password"], remember=args["remember"])


@blp.route("/session", methods=["DELETE"])
@blp.response(204)
def sign_out() -> None:
    """退出登录：结束浏览器会话。"""
    auth.actor()
    auth.sign_out()


@blp.route("/me", methods=["GET"])
@blp.response(200, MeSchema)
def me() -> Any:
    """当前用户：角色、所在部门与管辖范围。"""
    return auth.actor()


@blp.route("/me/tokens", methods=["GET"])
@blp.response(200, TokenSchema(many=True))
def list_tokens() -> Any:
    """我的接口令牌（含已吊销的），不含令牌本身。"""
    return auth_service.list_tokens(get_session(), auth.actor())


@blp.route("/me/tokens", methods=["POST"])
@blp.arguments(NewTokenArgs)
@blp.response(201, NewTokenSchema)
def create_token(args: dict[str, Any]) -> Any:
    """创建个人接口令牌。令牌只在此次返回中显示一次，库中只存其摘要。"""
    return auth_service.create_token(get_session(), auth.actor(), args["name"],
                                     expires_in_days=args["expires_in_days"])


@blp.route("/me/tokens/<int:token_id>", methods=["DELETE"])
@blp.response(204)
def revoke_token(token_id: int) -> None:
    """吊销令牌：下一次请求起即被拒绝。"""
    auth_service.revoke_token(get_session(), auth.actor(), token_id)
