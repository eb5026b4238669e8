from flask import request, url_for

from meditrack.auth import service
from meditrack.auth.schemas import (
    LoginResponseSchema,
    LoginSchema,
    PasswordChangeSchema,
    RegisterResponseSchema,
    RegisterSchema,
    TokenPairSchema,
)
from meditrack.core.api import Blueprint, conflict, rate_limited
from meditrack.core.security import optional_token, public, refresh_token_required
from meditrack.permissions import current_actor, optional_actor
from meditrack.users.schemas import UserSchema

blp = Blueprint("auth", __name__, url_prefix="/auth", description="Sign-in and tokens.")


@blp.post("/register")
@optional_token
@blp.arguments(RegisterSchema)
@blp.response(201, RegisterResponseSchema)
@blp.alt_response(
    429,
    **rate_limited(
        "Too many registrations from this client address "
        "(MEDITRACK_REGISTER_IP_LIMIT; an admin's token is not limited)."
    ),
)
@blp.alt_response(
    409,
    **conflict(
        "An account with this email exists already.",
        duplicate="An account with this email already exists.",
    ),
)
def register_account(data):
    """Create an account (patients freely; other roles with an admin's token).

    Public for patient accounts; an admin's token for any other role. Answers the new
    account's tokens. Limited per client address for callers without an admin's token (429).
    """
    user, tokens = service.register(
        actor=optional_actor(), data=data, ip=request.remote_addr or "unknown"
    )
    return {"user": user, **tokens}, 201, {"Location": url_for("users.get_user", user_id=user.id)}


@blp.post("/login")
@public
@blp.arguments(LoginSchema)
@blp.response(200, LoginResponseSchema)
@blp.alt_response(
    429,
    **rate_limited(
        "Too many failed sign-ins for this email or from this client address; "
        "refused whatever the password."
    ),
)
@blp.alt_response(401, "UNAUTHORIZED", description="The email or password is wrong.")
def login(data):
    """Exchange email and password for tokens.

    Public. Answers an access token (short-lived) and a refresh token. A wrong email, a
    wrong password and a deactivated account get the same 401. Failed attempts are
    limited per email and per client address; past a limit every attempt is 429, whatever
    the password.
    """
    user, tokens = service.login(
        email=data["email"], password=data["password"], ip=request.remote_addr or "unknown"
    )
    return {
        **tokens,
        "token_type": "Bearer",
        "expires_in": service.access_token_seconds(),
        "user": user,
    }


@blp.post("/refresh")
@refresh_token_required
@blp.doc(security=[{"bearerAuth": []}])
@blp.response(200, TokenPairSchema)
def refresh_tokens():
    """Trade a refresh token for a new pair; the old one is revoked.

    Send the refresh token as the bearer token. The refresh token is single-use: sending a
    rotated one again revokes the whole sign-in.
    """
    return service.refresh(actor=current_actor())


@blp.post("/logout")
@blp.response(204)
def logout():
    """Revoke this login's access and refresh tokens.

    Revokes the access and refresh tokens of this sign-in at once, on every server. Other
    sign-ins of the same account stay.
    """
    service.logout(actor=current_actor())


@blp.get("/me")
@blp.response(200, UserSchema)
def get_account():
    """The signed-in account.

    The account the access token belongs to, with the ids of its patient record or doctor
    profile when it has one.
    """
    return service.account(actor=current_actor())


@blp.put("/password")
@blp.arguments(PasswordChangeSchema)
@blp.response(204)
@blp.alt_response(
    429, **rate_limited("Too many wrong current passwords: the sign-in limits apply.")
)
def change_password(data):
    """Change the password; every other login is revoked.

    Send the current password and the new one. Every other sign-in of the account is
    revoked; this one stays. A wrong current password counts as a failed sign-in.
    """
    service.change_password(
        actor=current_actor(),
        current=data["current_password"],
        new=data["new_password"],
        ip=request.remote_addr or "unknown",
    )
