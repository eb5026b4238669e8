from meditrack.core.pagination import ListQuery
from meditrack.core.schemas import Bool, DateTime, Email, Schema, ShortText, fields, validate
from meditrack.users.models import ROLE_VALUES, User


def _linked_id(relation: str, description: str) -> fields.Function:
    """The id of the record linked to the account through `relation`, or null."""
    return fields.Function(
        lambda user: getattr(getattr(user, relation), "id", None),
        dump_only=True,
        metadata={"type": "integer", "nullable": True, "description": description},
    )


class UserSchema(Schema):
    id = fields.Integer(dump_only=True)
    name = ShortText()
    email = Email(metadata={"description": "Unique without regard to case; cannot be changed."})
    role = fields.String(validate=validate.OneOf(ROLE_VALUES))
    is_active = Bool(
        metadata={"description": "false: the account cannot sign in or use its tokens."}
    )
    patient_id = _linked_id("patient", "The patient record linked to the account.")
    doctor_id = _linked_id("doctor", "The doctor record linked to the account.")
    created_at = DateTime(dump_only=True)


class UserUpdateSchema(Schema):
    name = ShortText()
    role = fields.String(
        validate=validate.OneOf(ROLE_VALUES),
        metadata={
            "description": (
                "Applies from the user's next request. The last active admin cannot be demoted "
                "(409)."
            )
        },
    )
    is_active = Bool(
        metadata={
            "description": (
                "false deactivates: the account's tokens stop working at once. The last active "
                "admin cannot be deactivated (409)."
            )
        }
    )


class UserQuery(ListQuery):
    SORTS = {"name": User.name, "email": User.email, "created_at": User.created_at}

    role = fields.String(validate=validate.OneOf(ROLE_VALUES))
