"""Small request helpers shared by the list pages."""
from flask import request


def page_arg():
    """?page= as a positive int; anything else is page 1 (no error page for a bad link)."""
    page = request.args.get("page", 1, type=int)
    return page if page and page > 0 else 1


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
