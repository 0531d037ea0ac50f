"""Named list filters (常用筛选): a person saves the query string of a list page under a name and opens
it again with one click. Each filter belongs to one user and one page; nobody else sees it."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import SavedFilter, User

from . import inputs
from .errors import NotFound
from .transactions import mutation

# The parameters each list page understands, in the order a saved query keeps them. Anything else in a
# query (the page number, stray parameters, a CSRF token) is dropped: a filter is what is listed, not
# where the reader was. A list page that offers saved filters adds its entry here.
PAGE_PARAMS: dict[str, tuple[str, ...]] = {
    "inbox": ("view", "due", "category", "case", "per_page"),
}
MAX_PER_PAGE = 30
NAME_MAX = 40
QUERY_MAX = 2000
VALUE_MAX = 200
_FIELDS_MAX = 50


def _page_params(page: str) -> tuple[str, ...]:
    if page not in PAGE_PARAMS:
        inputs.refuse("page", "页面", f"应为 {'、'.join(PAGE_PARAMS)} 之一")
    return PAGE_PARAMS[page]


def normalized_query(page: str, query: str) -> str:
    """The query string as it is kept: only the page's known parameters, first value of each, empty
    ones left out, in a fixed order; Invalid when it is too long or carries control characters."""
    known = _page_params(page)
    if not isinstance(query, str):
        inputs.refuse("query", "筛选条件", "应为查询字符串")
    if len(query) > QUERY_MAX:
        inputs.refuse("query", "筛选条件", f"过长（不能超过 {QUERY_MAX} 个字符）")
    try:
        pairs = parse_qsl(query.lstrip("?"), max_num_fields=_FIELDS_MAX)
    except ValueError:
        inputs.refuse("query", "筛选条件", f"参数过多（不能超过 {_FIELDS_MAX} 个）")
    kept: dict[str, str] = {}
    for key, value in pairs:
        if key in known and key not in kept:
            value = inputs.clean_text(value, field="query", label="筛选条件", max_length=VALUE_MAX)
            if value:
                kept[key] = value
    text = urlencode([(key, kept[key]) for key in known if key in kept])
    if len(text) > QUERY_MAX:
        inputs.refuse("query", "筛选条件", f"过长（不能超过 {QUERY_MAX} 个字符）")
    return text


def list_filters(session: Session, actor: User, page: str) -> list[SavedFilter]:
    """The actor's own saved filters of a page, by name. Permission: one's own only. No side effects."""
    _page_params(page)
    return list(session.scalars(select(SavedFilter).where(SavedFilter.user_id == actor.id,
                                                          SavedFilter.page == page)
                                .order_by(SavedFilter.name, SavedFilter.id)))


@mutation
def save_filter(session: Session, actor: User, page: str, name: str, query: str) -> SavedFilter:
    """Save the query of a list page under a name; a filter of the same name is replaced.

    Permission: anyone signed in, for themselves. At most MAX_PER_PAGE filters per user and page; the
    name is cleaned (one line, ≤ NAME_MAX characters), the query keeps only the page's known parameters
    (≤ QUERY_MAX characters). Side effects: one saved_filters row written. No case history (nothing
    about a case changed)."""
    name = inputs.clean_text(name, field="name", label="筛选名称", max_length=NAME_MAX)
    if not name:
        inputs.refuse("name", "筛选名称", "请填写")
    text = normalized_query(page, query)
    found = session.scalar(select(SavedFilter).where(SavedFilter.user_id == actor.id, SavedFilter.page == page,
                                                     SavedFilter.name == name))
    if found is not None:
        found.query = text
        return found
    count = session.scalar(select(func.count(SavedFilter.id)).where(SavedFilter.user_id == actor.id,
                                                                    SavedFilter.page == page)) or 0
    if count >= MAX_PER_PAGE:
        inputs.refuse("name", "筛选名称", f"每个页面最多保存 {MAX_PER_PAGE} 个筛选，请先删除不再使用的")
    saved = SavedFilter(user_id=actor.id, page=page, name=name, query=text)
    session.add(saved)
    return saved


@mutation
def delete_filter(session: Session, actor: User, filter_id: int) -> SavedFilter:
    """Delete one of the actor's saved filters and return it (detached). Permission: one's own only;
    another user's filter, or an id no row can have, is NotFound. Side effects: the row deleted."""
    if not inputs.valid_id(filter_id):
        raise NotFound("筛选不存在")
    found = session.get(SavedFilter, filter_id)
    if found is None or found.user_id != actor.id:
        raise NotFound("筛选不存在")
    session.delete(found)
    return found
