"""Fetching rows by id the way the contract wants missing ones reported."""

from __future__ import annotations

from typing import TypeVar

from sqlalchemy import Select

from meditrack.core.errors import FieldError, NotFound
from meditrack.extensions import db

T = TypeVar("T")


def label_of(model: type) -> str:
    return getattr(model, "__label__", model.__name__)


def visible_or_404(model: type[T], stmt: Select, ident: int, *, include_archived: bool) -> T:
    """The row `stmt` selects, already narrowed to what the caller may see, unless it is
    archived and archived rows were not asked for: otherwise 404, exactly as if it did not
    exist."""
    if not include_archived:
        stmt = stmt.where(model.archived_at.is_(None))
    row = db.session.scalar(stmt)
    if row is None:
        raise NotFound(f"{label_of(model)} {ident} does not exist.")
    return row


def get_or_404(model: type[T], ident: int, *, include_archived: bool = False) -> T:
    """A path id: missing (or archived, unless asked for) is 404."""
    row = db.session.get(model, ident)
    if row is None or (getattr(row, "archived_at", None) is not None and not include_archived):
        raise NotFound(f"{label_of(model)} {ident} does not exist.")
    return row


def referenced(model: type[T], ident: int, field: str, *, allow_archived: bool = False) -> T:
    """An id in a body or a query: missing (or archived) is a 422 naming the field."""
    row = db.session.get(model, ident)
    archived = getattr(row, "archived_at", None) is not None and not allow_archived
    if row is None or archived:
        raise FieldError(field, f"{label_of(model)} {ident} does not exist.")
    return row
