"""Small request helpers shared by the list pages."""
from flask import request


# Far past any list's end (5 million orders are 100,000 pages), and its offset stays
# far below a 64-bit integer: ?page=9223372036854775807 must not reach the database.
MAX_PAGE = 10_000_000


def page_arg():
    """?page= from 1 to MAX_PAGE; anything else is page 1 (no error page for a bad link)."""
    page = request.args.get("page", 1, type=int)
    return page if page and 0 < page <= MAX_PAGE else 1


def search_pattern(q):
    """A LIKE pattern that matches q literally (its % and _ escaped)."""
    q = q[:100].replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{q}%"


def search(select, q, *columns):
    """Rows where any of `columns` contains q (case-insensitive, wildcards literal)."""
    if not q:
        return select
    pattern = search_pattern(q)
    condition = columns[0].ilike(pattern, escape="\\")
    for column in columns[1:]:
        condition = condition | column.ilike(pattern, escape="\\")
    return select.where(condition)
