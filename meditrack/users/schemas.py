from meditrack.core.pagination import ListQuery
from meditrack.core.schemas import Bool, DateTime, Email, Schema, ShortText, fields, validate
from meditrack.users.models import ROLE_VALUES


class UserSchema(Schema):
    id = fields.Integer(dump_only=True)
    name = ShortText()
    email = Email()
    role = fields.String(validate=validate.OneOf(ROLE_VALUES))
    is_active = Bool()
    patient_id = fields.Function(
        lambda user: user.patient.id if user.patient else None,
        dump_only=True,
        metadata={"type": "integer", "nullable": True},
    )
    doctor_id = fields.Function(
        lambda user: user.doctor.id if user.doctor else None,
        dump_only=True,
        metadata={"type": "integer", "nullable": True},
    )
    created_at = DateTime(dump_only=True)


class UserUpdateSchema(Schema):
    name = ShortText()
    role = fields.String(validate=validate.OneOf(ROLE_VALUES))
    is_active = Bool()


class UserQuery(ListQuery):
    SORTS = ("name", "email", "created_at")

    role = fields.String(validate=validate.OneOf(ROLE_VALUES))
