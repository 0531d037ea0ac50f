"""常用意见: a person's ready phrases for the 审批意见 box ("同意。", "材料齐全，同意报批。"), one click
away on every task page. Each person keeps their own, at most STOCK_MAX of them."""

from __future__ import annotations

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from models import StockOpinion, User

from . import inputs
from .errors import Forbidden, Invalid, NotFound
from .transactions import mutation

STOCK_MAX = 20
TEXT_MAX = 500


def _require_worker(actor: User) -> None:
    # Opinions go with completing tasks: auditors and administrators complete none.
    if not actor.active or actor.role not in ("officer", "supervisor"):
        raise Forbidden("只有经办人和督办人可以设置常用意见")


def stock_opinions(session: Session, actor: User) -> list[StockOpinion]:
    """The actor's own stock opinions, in the order they were added (empty for those who work no
    tasks). No side effects."""
    if actor.role not in ("officer", "supervisor"):
        return []
    return list(session.scalars(select(StockOpinion).where(StockOpinion.user_id == actor.id)
                                .order_by(StockOpinion.id)))


@mutation
def add_stock_opinion(session: Session, actor: User, text: str) -> StockOpinion:
    """Add a phrase to the actor's stock opinions. Permission: officers and supervisors, for
    themselves. Refused (Invalid on `text`): blank, over TEXT_MAX characters, control characters, or
    the list already holds STOCK_MAX. The same text twice is kept once. Side effects: one row."""
    _require_worker(actor)
    cleaned = inputs.clean_text(text, field="text", label="常用意见", max_length=TEXT_MAX, multiline=True)
    if not cleaned:
        inputs.refuse("text", "常用意见", "不能为空")
    mine = select(StockOpinion).where(StockOpinion.user_id == actor.id)
    existing = session.scalar(mine.where(StockOpinion.text == cleaned))
    if existing is not None:
        return existing
    count = session.scalar(select(func.count()).select_from(mine.subquery())) or 0
    if count >= STOCK_MAX:
        message = f"常用意见最多 {STOCK_MAX} 条，请先删除不用的"
        raise Invalid(message, errors={"text": [message]})
    opinion = StockOpinion(user_id=actor.id, text=cleaned)
    session.add(opinion)
    return opinion


@mutation
def delete_stock_opinion(session: Session, actor: User, opinion_id: int) -> None:
    """Delete one of the actor's own stock opinions; someone else's does not exist (NotFound).
    Side effects: the row is deleted."""
    if not inputs.valid_id(opinion_id):
        raise NotFound("常用意见不存在")
    deleted = session.execute(delete(StockOpinion).where(StockOpinion.id == opinion_id,
                                                          StockOpinion.user_id == actor.id))
    if deleted.rowcount != 1:
        raise NotFound("常用意见不存在")
