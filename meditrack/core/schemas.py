"""Schema base and field types that carry the contract's input rules."""

from __future__ import annotations

import re
from datetime import date, datetime

import marshmallow as ma
from marshmallow import ValidationError, fields, pre_load, validate, validates_schema

from meditrack.core import timeutil
from meditrack.core.errors import MAX_ERRORS

#: C0, DEL and C1 (U+0080-U+009F, e.g. NEL and the 8-bit terminal escape CSI).
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
CONTROL_EXCEPT_NEWLINE_TAB = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
#: RFC 3339 in ASCII digits (seconds optional). datetime.fromisoformat alone takes more:
#: week dates, the basic format, offsets with seconds, and text after a NUL byte.
RFC3339 = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?([Zz]|[+-]\d{2}:\d{2})?", re.ASCII
)
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
#: An integer in a query string: ASCII digits only (int() also takes " 1 ", "1_0" and
#: Arabic-Indic or full-width digits).
QUERY_INT = re.compile(r"-?[0-9]+")

SHORT_MAX = 100
EMAIL_MAX = 254
PHONE_MAX = 32
TEXT_MAX = 10_000


class Schema(ma.Schema):
    """Unknown fields are refused; read-only fields say so by name."""

    class Meta:
        unknown = ma.RAISE
        ordered = True

    @pre_load(pass_collection=True)
    def _refuse_many_unknown(self, data, *, unknown=None, **kwargs):
        """marshmallow stores an error for every unknown key, so 90 000 of them cost seconds
        and a 2.5 MB answer. Past MAX_ERRORS they are refused here, after reading no more
        keys than that (fewer are left to marshmallow, which reports them with the rest)."""
        if unknown != ma.RAISE or not isinstance(data, dict) or len(data) <= MAX_ERRORS:
            return data
        known = {field.data_key or name for name, field in self.fields.items()}
        found = []
        for key in data:
            if key not in known:
                found.append(key)
                if len(found) > MAX_ERRORS:  # one more than is shown: some were cut
                    message = self.error_messages["unknown"]
                    raise ValidationError({name: [message] for name in found})
        return data

    @pre_load(pass_collection=True)
    def _refuse_read_only(self, data, **kwargs):
        if isinstance(data, dict):
            read_only = [
                name
                for name, field in self.fields.items()
                if field.dump_only and (field.data_key or name) in data
            ]
            if read_only:
                raise ValidationError(
                    {self.fields[name].data_key or name: ["Read-only field."] for name in read_only}
                )
        return data


class Trimmed(fields.String):
    """A string trimmed of surrounding white space, refusing control characters."""

    def __init__(
        self, *, max_length: int = SHORT_MAX, multiline: bool = False, min_length: int = 1, **kwargs
    ):
        self.forbidden = CONTROL_EXCEPT_NEWLINE_TAB if multiline else CONTROL
        validators = [validate.Length(min=min_length, max=max_length)]
        super().__init__(validate=validators + list(kwargs.pop("validate", [])), **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if self.forbidden.search(text):
            raise ValidationError("Control characters are not allowed.")
        return text.strip()


def ShortText(**kwargs) -> Trimmed:
    return Trimmed(max_length=SHORT_MAX, **kwargs)


def FreeText(**kwargs) -> Trimmed:
    kwargs.setdefault("allow_none", True)
    kwargs.setdefault("min_length", 0)
    return Trimmed(max_length=TEXT_MAX, multiline=True, **kwargs)


def Phone(**kwargs) -> Trimmed:
    kwargs.setdefault("allow_none", True)
    return Trimmed(
        max_length=PHONE_MAX,
        validate=[validate.Regexp(r"^[0-9+()./ x-]+$", error="Not a phone number.")],
        **kwargs,
    )


class Email(fields.Email):
    def __init__(self, **kwargs):
        super().__init__(validate=[validate.Length(max=EMAIL_MAX)], **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str):
            value = value.strip()
            if CONTROL.search(value):
                raise ValidationError("Control characters are not allowed.")
        return super()._deserialize(value, attr, data, **kwargs)


class DateTime(fields.DateTime):
    """RFC 3339. Naive input is hospital time; output always carries the offset."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str) or len(value) > 40 or not RFC3339.fullmatch(value):
            raise ValidationError("Not a valid RFC 3339 datetime.")
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError as exc:
            raise ValidationError("Not a valid RFC 3339 datetime.") from exc
        if not 1900 <= parsed.year <= 2999:
            raise ValidationError("The year must be between 1900 and 2999.")
        return timeutil.localize(parsed)

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None:
            return None
        return value.astimezone(timeutil.hospital_tz()).isoformat()


class Date(fields.Date):
    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str) or not ISO_DATE.fullmatch(value):
            raise ValidationError("Not a valid date (YYYY-MM-DD).")
        try:
            return date.fromisoformat(value)
        except ValueError as exc:
            raise ValidationError("Not a valid date (YYYY-MM-DD).") from exc


class Int(fields.Integer):
    """An integer; in a JSON body never a float, a string or a boolean; in a query string
    (strict=False) only ASCII digits."""

    def __init__(self, **kwargs):
        kwargs.setdefault("strict", True)
        super().__init__(**kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool) or (isinstance(value, str) and not QUERY_INT.fullmatch(value)):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


#: The largest id a row can have: id columns are 32-bit integers.
MAX_ID = 2**31 - 1


class Id(Int):
    """A database id: a positive integer no row's id column is too small for."""

    def __init__(self, **kwargs):
        super().__init__(validate=validate.Range(min=1, max=MAX_ID), **kwargs)


class QueryId(Id):
    """An id given in a query string."""

    def __init__(self, **kwargs):
        super().__init__(strict=False, **kwargs)


def for_update(schema_cls: type[ma.Schema]) -> ma.Schema:
    """The body of a PUT or PATCH: every top-level field optional, nested items whole."""
    writable = tuple(name for name, field in schema_cls().fields.items() if not field.dump_only)
    return schema_cls(partial=writable)


class BoundedList(fields.List):
    """A list of at most `max_items`, counted before any item is read: refusing 90 000
    items costs their count, not the work of checking each one and reporting its errors."""

    def __init__(self, inner, *, max_items: int, error: str = "At most {max} items.", **kwargs):
        self.too_many = error.format(max=max_items)
        # the validator never fails (the count came first); it gives the spec its maxItems
        length = validate.Length(max=max_items, error=self.too_many)
        super().__init__(inner, validate=[length], **kwargs)
        self.max_items = max_items

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, list) and len(value) > self.max_items:
            raise ValidationError(self.too_many)
        return super()._deserialize(value, attr, data, **kwargs)


class Bool(fields.Boolean):
    """A JSON true or false, nothing else ("yes", 1 and "true" are refused)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value


class QueryBool(fields.Boolean):
    truthy = {"true", "1"}
    falsy = {"false", "0"}


__all__ = [
    "Bool",
    "BoundedList",
    "Date",
    "DateTime",
    "Email",
    "FreeText",
    "Id",
    "Int",
    "Phone",
    "QueryBool",
    "QueryId",
    "Schema",
    "ShortText",
    "ValidationError",
    "fields",
    "for_update",
    "validate",
]


class ClockTime(fields.Time):
    """A wall-clock time as HH:MM (24-hour)."""

    PATTERN = re.compile(r"([01]\d|2[0-3]):([0-5]\d)", re.ASCII)

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str) or not self.PATTERN.fullmatch(value):
            raise ValidationError("Not a valid time (HH:MM, 00:00 to 23:59).")
        return super()._deserialize(value + ":00", attr, data, **kwargs)

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else value.strftime("%H:%M")


# A window of time in a query: `from` and `to` ----------------------------------------


#: The years DateTime takes, for days too: a day's bounds, and the days after it in a
#: range, then always fit in a datetime.
DAYS = validate.Range(
    min=date(1900, 1, 1), max=date(2999, 12, 31), error="The year must be between 1900 and 2999."
)


class DayOrInstant(fields.Field):
    """A date (a whole day in hospital time) or an RFC 3339 datetime."""

    #: How the OpenAPI document describes it.
    SPEC = {
        "anyOf": [{"type": "string", "format": "date"}, {"type": "string", "format": "date-time"}]
    }

    def __init__(self, **kwargs):
        kwargs["metadata"] = {**self.SPEC, **kwargs.get("metadata", {})}
        super().__init__(**kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str) and len(value) == 10:
            return DAYS(Date()._deserialize(value, attr, data))
        return DateTime()._deserialize(value, attr, data)


def window(args) -> tuple[datetime | None, datetime | None]:
    """`from` inclusive; `to` inclusive as a date (the whole day), exclusive as a datetime.

    `args` is a loaded WindowQuery: `from` and `to` arrive under their attribute names.
    """
    start, end = args.get("start"), args.get("end")
    if isinstance(start, date) and not isinstance(start, datetime):
        start = timeutil.day_bounds(start)[0]
    if isinstance(end, date) and not isinstance(end, datetime):
        end = timeutil.day_bounds(end)[1]
    return start, end


class WindowQuery(Schema):
    class Meta:
        unknown = "exclude"

    start = DayOrInstant(data_key="from", metadata={"description": "Inclusive; date or datetime."})
    end = DayOrInstant(
        data_key="to",
        metadata={"description": "A date includes that whole day; a datetime is exclusive."},
    )

    @validates_schema
    def _ordered(self, data, **kwargs):
        start, end = window(data)
        if start and end and end <= start:
            raise ValidationError({"to": ["The end of the range must be after its start."]})
