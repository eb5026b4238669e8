from marshmallow import ValidationError, validates

from meditrack.core import timeutil
from meditrack.core.pagination import ListQuery
from meditrack.core.schemas import (
    Date,
    DateTime,
    Email,
    FreeText,
    Id,
    Phone,
    QueryBool,
    QueryId,
    Schema,
    ShortText,
    fields,
    validate,
)
from meditrack.departments.schemas import DepartmentRefSchema
from meditrack.patients.models import BLOOD_TYPES, GENDERS, Patient

EARLIEST_BIRTH = "1900-01-01"


class PatientSchema(Schema):
    id = fields.Integer(dump_only=True)
    mrn = fields.String(
        dump_only=True,
        metadata={
            "description": (
                "Medical record number: ten digits (nine random, then a Luhn check digit), given "
                "once and never changed."
            )
        },
    )
    first_name = ShortText(required=True, metadata={"example": "Amelia"})
    last_name = ShortText(required=True, metadata={"example": "Watson"})
    date_of_birth = Date(
        required=True,
        metadata={"description": "From 1900-01-01 to today.", "example": "1984-03-14"},
    )
    gender = fields.String(
        validate=validate.OneOf(GENDERS),
        metadata={"example": "female", "description": "Default unknown."},
    )
    email = Email(allow_none=True, metadata={"description": "Need not be unique."})
    phone = Phone()
    address = FreeText()
    department_id = Id(
        allow_none=True, metadata={"description": "An existing department (else 422)."}
    )
    department = fields.Nested(DepartmentRefSchema, dump_only=True, allow_none=True)
    blood_type = fields.String(allow_none=True, validate=validate.OneOf(BLOOD_TYPES))
    allergies = FreeText()
    emergency_contact_name = ShortText(allow_none=True)
    emergency_contact_phone = Phone()
    user_id = Id(
        allow_none=True,
        metadata={
            "description": (
                "The patient's login, set by admins only (else 403): an active account with the "
                "role patient that has no patient record (else 422)."
            )
        },
    )
    created_at = DateTime(dump_only=True)
    updated_at = DateTime(dump_only=True)

    @validates("date_of_birth")
    def _plausible_birth(self, value, **kwargs):
        if value.isoformat() < EARLIEST_BIRTH:
            raise ValidationError(f"The date of birth must be on or after {EARLIEST_BIRTH}.")
        if value > timeutil.today():
            raise ValidationError("The date of birth cannot be in the future.")


class PatientRefSchema(Schema):
    id = fields.Integer()
    first_name = fields.String()
    last_name = fields.String()
    mrn = fields.String()


class PatientQuery(ListQuery):
    SORTS = {
        "last_name": Patient.last_name,
        "date_of_birth": Patient.date_of_birth,
        "created_at": Patient.created_at,
    }

    date_of_birth = Date()
    department_id = QueryId()
    gender = fields.String(validate=validate.OneOf(GENDERS))
    include_archived = QueryBool(load_default=False)
