from marshmallow import ValidationError, validates_schema

from meditrack.core.schemas import Email, Schema, ShortText, Trimmed, fields, validate
from meditrack.users.models import ROLE_VALUES
from meditrack.users.schemas import UserSchema

Password = lambda: fields.String(required=True, validate=validate.Length(min=10, max=128))  # noqa: E731


def password_problem(password: str, *, email: str | None, name: str | None) -> str | None:
    lowered = password.strip().lower()
    if email and lowered == email.strip().lower():
        return "The password must not be your email."
    if name and lowered == name.strip().lower():
        return "The password must not be your name."
    return None


class RegisterSchema(Schema):
    name = ShortText(required=True)
    email = Email(required=True)
    password = Password()
    role = fields.String(load_default="patient", validate=validate.OneOf(ROLE_VALUES))

    @validates_schema
    def _password_not_obvious(self, data, **kwargs):
        message = password_problem(data["password"], email=data["email"], name=data["name"])
        if message:
            raise ValidationError({"password": [message]})


class LoginSchema(Schema):
    email = Trimmed(required=True, max_length=254)
    password = fields.String(required=True, validate=validate.Length(min=1, max=1024))


class PasswordChangeSchema(Schema):
    current_password = fields.String(required=True, validate=validate.Length(max=1024))
    new_password = Password()


class TokenPairSchema(Schema):
    access_token = fields.String()
    refresh_token = fields.String()


class RegisterResponseSchema(TokenPairSchema):
    user = fields.Nested(UserSchema)


class LoginResponseSchema(TokenPairSchema):
    token_type = fields.String(metadata={"example": "Bearer"})
    expires_in = fields.Integer(metadata={"description": "Seconds the access token lives."})
    user = fields.Nested(UserSchema)
