from meditrack.core.api import Blueprint, checks_if_match, conflict
from meditrack.core.http import require_match
from meditrack.permissions import current_actor
from meditrack.users import service
from meditrack.users.schemas import UserQuery, UserSchema, UserUpdateSchema

blp = Blueprint("users", __name__, url_prefix="/users", description="Accounts (admin only).")


@blp.get("")
@blp.arguments(UserQuery, location="query")
@blp.response(200, UserSchema(many=True))
def list_users(args):
    """List accounts.

    Admins. Filter by role; q searches the name and email (every word must appear in one
    of them). Sorted by name unless sort says otherwise; paged.
    """
    page = service.list_users(actor=current_actor(), args=args)
    return page.items, 200, page.headers


@blp.get("/<int:user_id>")
@blp.response(200, UserSchema)
def get_user(user_id):
    """Show one account.

    Admins. Send If-None-Match with its ETag to be answered 304 while it is unchanged.
    """
    return service.get_user(actor=current_actor(), user_id=user_id)


@blp.route("/<int:user_id>", methods=["PUT", "PATCH"])
@blp.arguments(UserUpdateSchema)
@blp.response(200, UserSchema)
@checks_if_match
@blp.alt_response(
    409,
    **conflict(
        "The change would leave no active admin.",
        conflict="The last active admin cannot be demoted or deactivated.",
    ),
)
def update_user(changes, user_id):
    """Rename, change the role of, or (de)activate an account.

    Admins. The last active admin can be neither demoted nor deactivated (409); deactivating
    an account revokes its sign-ins. PUT and PATCH are the same partial update; send If-
    Match to refuse a change over someone else's (412).
    """
    actor = current_actor()
    user = service.get_user(actor=actor, user_id=user_id)
    require_match(UserSchema().dump(user))
    return service.update_user(actor=actor, user=user, changes=changes)
