from meditrack.core.api import Blueprint
from meditrack.core.http import require_match
from meditrack.permissions import current_actor
from meditrack.users import service
from meditrack.users.schemas import UserQuery, UserSchema, UserUpdateSchema

blp = Blueprint("users", __name__, url_prefix="/users", description="Accounts (admin only).")


@blp.get("")
@blp.arguments(UserQuery, location="query")
@blp.response(200, UserSchema(many=True))
def list_users(args):
    """List accounts."""
    page = service.list_users(actor=current_actor(), args=args)
    return page.items, 200, page.headers


@blp.get("/<int:user_id>")
@blp.response(200, UserSchema)
def get_user(user_id):
    """Show one account."""
    return service.get_user(actor=current_actor(), user_id=user_id)


@blp.route("/<int:user_id>", methods=["PUT", "PATCH"])
@blp.arguments(UserUpdateSchema)
@blp.response(200, UserSchema)
def update_user(changes, user_id):
    """Rename, change the role of, or (de)activate an account."""
    actor = current_actor()
    user = service.get_user(actor=actor, user_id=user_id)
    require_match(UserSchema().dump(user))
    return service.update_user(actor=actor, user=user, changes=changes)
