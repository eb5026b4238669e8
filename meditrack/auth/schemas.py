from marshmallow import ValidationError, validates, validates_schema

from meditrack.core.schemas import EMAIL_MAX, Email, Schema, ShortText, Trimmed, fields, validate
from meditrack.users.emails import canonical_email
from meditrack.users.models import ROLE_VALUES
from meditrack.users.schemas import UserSchema


def Password(description: str) -> fields.String:
    return fields.String(
        required=True,
        validate=validate.Length(min=10, max=128),
        metadata={"description": description},
    )


def password_problem(password: str, *, email: str | None, name: str | None) -> str | None:
    lowered = password.strip().lower()
    if email and canonical_email(password) == canonical_email(email):
        return "The password must not be your email."
    if name and lowered == name.strip().lower():
        return "The password must not be your name."
    return None


class RegisterSchema(Schema):
    name = ShortText(required=True, metadata={"example": "Amelia Watson"})
    email = Email(
        required=True,
        metadata={
            "description": "Unique without regard to case (409 duplicate).",
            "example": "amelia.watson@mail.example",
        },
    )
    password = Password(
        description="Not the email or the name (ignoring case and surrounding spaces)."
    )
    role = fields.String(
        load_default="patient",
        validate=validate.OneOf(ROLE_VALUES),
        metadata={"description": "Any role but patient needs an admin's token (403)."},
    )

    @validates("email")
    def _key_fits(self, value: str, **kwargs):
        # Case folding and NFKC can lengthen an address (ß is ss): the key must fit too.
        if len(canonical_email(value)) > EMAIL_MAX:
            raise ValidationError(f"Longer than {EMAIL_MAX} characters once normalised.")

    @validates_schema
    def _password_not_obvious(self, data, **kwargs):
        message = password_problem(data["password"], email=data["email"], name=data["name"])
        if message:
            raise ValidationError({"password": [message]})


class LoginSchema(Schema):
    # The examples are the demo admin that `make run` loads (meditrack/demo.py), so that
    # "Try it out" in /docs signs in as shipped; tests/test_demo.py holds them to it.
    email = Trimmed(
        required=True,
        max_length=254,
        metadata={
            "example": "admin@demo.meditrack.org",
            "description": "Matched without regard to case.",
        },
    )
    password = fields.String(
        required=True,
        validate=validate.Length(min=1, max=1024),
        metadata={"example": "meditrack-demo-2026"},
    )


class PasswordChangeSchema(Schema):
    current_password = fields.String(
        required=True,
        validate=validate.Length(max=1024),
        metadata={"description": "A wrong one is a 422 naming it, and counts as a failed sign-in."},
    )
    new_password = Password("Not your email or your name (ignoring case and surrounding spaces).")


class TokenPairSchema(Schema):
    access_token = fields.String()
    refresh_token = fields.String()


class RegisterResponseSchema(TokenPairSchema):
    user = fields.Nested(UserSchema)


class LoginResponseSchema(TokenPairSchema):
    token_type = fields.String(metadata={"example": "Bearer"})
    expires_in = fields.Integer(metadata={"description": "Seconds the access token lives."})
    user = fields.Nested(UserSchema)
