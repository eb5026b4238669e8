"""Page, sort and count a query; answer with X-Total-Count and an RFC 8288 Link."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlencode

import marshmallow as ma
from flask import current_app, request
from sqlalchemy import ColumnElement, Select, func, literal_column, or_, select

from meditrack.core.schemas import MAX_ID, Int, Trimmed, fields, validate
from meditrack.extensions import db

MAX_PER_PAGE = 100
#: No table holds more rows than its 32-bit ids can number; an offset past this is past
#: the end of every list, and may be past what the database takes as an offset (64 bits).
MAX_ROWS = MAX_ID


class ListQuery(ma.Schema):
    """Query parameters every list takes. Each list declares its sorts once, in SORTS: the
    key a client sends (`sort=-created_at` reverses it) and the column it orders by. The
    `sort` field takes those keys, the OpenAPI document lists them, and the service
    orders by the same mapping (`order_by(stmt, args.get("sort"), XQuery.SORTS, ...)`)."""

    SORTS: Mapping[str, ColumnElement] = {}

    class Meta:
        unknown = ma.EXCLUDE

    page = Int(strict=False, load_default=1, validate=validate.Range(min=1))
    per_page = Int(strict=False, load_default=20, validate=validate.Range(min=1, max=MAX_PER_PAGE))
    sort = fields.String(
        metadata={"description": "A key to sort by; prefix `-` for descending order."}
    )
    q = Trimmed(max_length=100, min_length=0)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        sort = self.fields["sort"]
        sort.metadata = {**sort.metadata, "enum": [*self.SORTS, *(f"-{key}" for key in self.SORTS)]}

    @ma.validates("sort")
    def _known_sort(self, value, **kwargs):
        if value is not None and value.removeprefix("-") not in self.SORTS:
            raise ma.ValidationError(
                f"Sort by one of: {', '.join(self.SORTS)} (prefix - to reverse)."
            )


@dataclass
class Page:
    items: list
    total: int
    headers: dict[str, str] = field(default_factory=dict)


def order_by(
    stmt: Select,
    sort: str | None,
    columns: Mapping[str, ColumnElement],
    default: str,
    tiebreak: ColumnElement,
) -> Select:
    key = sort or default
    column = columns[key.removeprefix("-")]
    ordered = column.desc() if key.startswith("-") else column.asc()
    return stmt.order_by(ordered, tiebreak.desc() if key.startswith("-") else tiebreak.asc())


def paginate(
    stmt: Select,
    args: Mapping,
    *,
    scalars: bool = True,
    total: int | None = None,
    key: ColumnElement | None = None,
) -> Page:
    """Run one page of an already ordered statement, plus its count.

    `total`: the count, when the caller already knows it (a kept counter), so the rows
    are not counted again. `key`: the table's primary key; a page past the first then
    finds its keys first, which an index on the order can give alone, and reads only
    those rows, instead of reading every row its offset passes over."""
    page, per_page = args["page"], args["per_page"]
    if total is None:
        total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    offset = (page - 1) * per_page
    items = []
    if offset < total:  # past the end there is nothing to fetch, however large the page
        if key is not None and offset:
            keys = stmt.with_only_columns(key).limit(per_page).offset(offset)
            paged = stmt.where(key.in_(keys))
        else:
            paged = stmt.limit(per_page).offset(offset)
        result = db.session.scalars(paged) if scalars else db.session.execute(paged)
        items = list(result.all())
    return Page(items=items, total=total, headers=link_headers(page, per_page, total))


def paginate_matches(
    model: type,
    conditions: Sequence,
    args: Mapping,
    sorts: Mapping[str, ColumnElement],
    default: str,
) -> Page:
    """A page of the rows of `model` that `conditions` match, and how many they match,
    from one pass over the matches.

    For a search whose index only proposes candidates (a trigram index), so that every
    match is read from the table to confirm it, and a common word matches thousands of
    rows: the matches are taken first with their sort key (MATERIALIZED: left to itself,
    PostgreSQL may instead walk a whole sort index testing each row); the page's ids and
    the count come from them together; then only the page's rows are read."""
    column = sorts[(args.get("sort") or default).removeprefix("-")]
    matches = (
        select(model.id.label("id"), column.label("sort_key"))
        .where(*conditions)
        .cte("matches")
        .prefix_with("MATERIALIZED", dialect="postgresql")
    )
    page, per_page = args["page"], args["per_page"]
    ranked = order_by(
        select(matches.c.id, func.count().over().label("total")),
        args.get("sort"),
        dict.fromkeys(sorts, matches.c.sort_key),
        default,
        matches.c.id,
    )
    offset = (page - 1) * per_page
    rows = []
    if offset < MAX_ROWS:
        rows = db.session.execute(ranked.limit(per_page).offset(offset)).all()
    if rows:
        total = rows[0].total
        found = {
            item.id: item
            for item in db.session.scalars(
                select(model).where(model.id.in_([row.id for row in rows]))
            )
        }
        items = [found[row.id] for row in rows]
    else:  # past the last page: nothing to show, and the count alone
        total = db.session.scalar(select(func.count()).select_from(matches))
        items = []
    return Page(items=items, total=total, headers=link_headers(page, per_page, total))


def words(q: str | None) -> list[str]:
    return (q or "").split()


def search(q: str | None, columns: Sequence[ColumnElement]) -> list[ColumnElement[bool]]:
    """`q`: every word must appear, case-insensitively, in at least one of the columns.
    % and _ are ordinary characters, not wildcards."""
    return [
        or_(*(column.icontains(term, autoescape=True) for column in columns)) for term in words(q)
    ]


def search_in(q: str | None, text: ColumnElement[str]) -> list[ColumnElement[bool]]:
    """`q` against one lowercased text of several columns, words apart (see
    `patients.models.search_text`): the same matches as `search` over those columns,
    in the shape a trigram index serves (`text LIKE lower('%word%')`).

    A word without three letters or digits in a row has no trigram to look up, and a
    trigram index would answer it by reading all of itself; such a word is matched in a
    form no index serves (`text || ''`), so it only filters what the other words found,
    or, alone, a plain scan of the table."""
    conditions = []
    for term in words(q):
        searched = text if _HAS_TRIGRAM.search(term) else text.op("||")(literal_column("''"))
        conditions.append(searched.like(func.lower(f"%{_escaped(term)}%"), escape="/"))
    return conditions


_HAS_TRIGRAM = re.compile(r"[^\W_]{3}")  # three letters or digits in a row


def _escaped(term: str) -> str:
    return term.replace("/", "//").replace("%", "/%").replace("_", "/_")


def link_headers(page: int, per_page: int, total: int) -> dict[str, str]:
    last = max(1, -(-total // per_page))
    links = {"first": 1, "last": last}
    if page > 1:
        links["prev"] = min(page - 1, last)
    if page < last:
        links["next"] = page + 1
    # A relative reference (RFC 8288 allows one) or the configured public URL: never the
    # Host header, which would let a client make the API link to a site of its choosing.
    base = (current_app.config.get("MEDITRACK_PUBLIC_URL") or request.script_root) + request.path
    params = request.args.to_dict(flat=False)

    def url(number: int) -> str:
        params["page"] = [str(number)]
        params["per_page"] = [str(per_page)]
        return f"{base}?{urlencode(params, doseq=True)}"

    link = ", ".join(f'<{url(n)}>; rel="{rel}"' for rel, n in links.items())
    return {"X-Total-Count": str(total), "Link": link}


class ArchivedQuery(ma.Schema):
    """`include_archived=true` shows archived rows (admins only)."""

    class Meta:
        unknown = ma.EXCLUDE

    include_archived = fields.Boolean(
        load_default=False, truthy={"true", "1"}, falsy={"false", "0"}
    )
