"""Declarative base, naming convention and the column types every model shares."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import DateTime, MetaData, TypeDecorator, func
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, object_session, registry

from meditrack.core import timeutil

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """An aware datetime stored in UTC; SQLite, which has no zones, gets naive UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; attach a time zone first")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    registry = registry(
        metadata=MetaData(naming_convention=NAMING_CONVENTION),
        type_annotation_map={datetime: UTCDateTime},
    )


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ArchiveMixin:
    """Rows are archived, never deleted: the API hides them, admins can restore them."""

    archived_at: Mapped[datetime | None] = mapped_column(default=None)

    def archive(self) -> None:
        """Hide the row from every list and lookup; an admin may restore it."""
        self.archived_at = timeutil.now()
        object_session(self).flush()

    def restore(self) -> None:
        self.archived_at = None
        object_session(self).flush()


__all__ = ["ArchiveMixin", "Base", "TimestampMixin", "UTCDateTime", "func", "utcnow"]


def render_item(type_, obj, autogen_context):
    """Autogenerate writes plain SQLAlchemy types, so migrations never import the app."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False
