from flask import url_for

from meditrack.core.api import Blueprint, checks_if_match, conflict
from meditrack.core.http import require_match
from meditrack.core.schemas import for_update
from meditrack.departments import service
from meditrack.departments.schemas import DepartmentQuery, DepartmentSchema
from meditrack.permissions import current_actor

blp = Blueprint(
    "departments",
    __name__,
    url_prefix="/departments",
    description="Hospital departments. Anyone signed in reads; admins write.",
)


@blp.get("")
@blp.arguments(DepartmentQuery, location="query")
@blp.response(200, DepartmentSchema(many=True))
def list_departments(args):
    """List departments.

    Every signed-in user. q searches the name, description and location (every word must
    appear in one of them); sorted by name unless sort says otherwise. Paged.
    """
    page = service.list_departments(args=args)
    return page.items, 200, page.headers


@blp.post("")
@blp.arguments(DepartmentSchema)
@blp.response(201, DepartmentSchema)
@blp.alt_response(
    409,
    **conflict(
        "Another department has that name.",
        duplicate="A department named 'Cardiology' already exists.",
    ),
)
def create_department(data):
    """Create a department.

    Admins. Names are unique without regard to case (409 duplicate).
    """
    department = service.create_department(actor=current_actor(), data=data)
    location = url_for("departments.get_department", department_id=department.id)
    return department, 201, {"Location": location}


@blp.get("/<int:department_id>")
@blp.response(200, DepartmentSchema)
def get_department(department_id):
    """Show one department.

    Every signed-in user. Send If-None-Match with its ETag to be answered 304 while it is
    unchanged.
    """
    return service.get_department(department_id=department_id)


@blp.route("/<int:department_id>", methods=["PUT", "PATCH"])
@blp.arguments(for_update(DepartmentSchema))
@blp.response(200, DepartmentSchema)
@checks_if_match
@blp.alt_response(
    409,
    **conflict(
        "Another department has that name.",
        duplicate="A department named 'Cardiology' already exists.",
    ),
)
def update_department(changes, department_id):
    """Update a department (only the fields sent change).

    Admins. PUT and PATCH are the same partial update; send If-Match to refuse a change over
    someone else's (412).
    """
    department = service.get_department(department_id=department_id)
    require_match(DepartmentSchema().dump(department))
    return service.update_department(actor=current_actor(), department=department, changes=changes)


@blp.delete("/<int:department_id>")
@blp.response(204)
@checks_if_match
@blp.alt_response(
    409,
    **conflict(
        "The department is still in use.",
        has_dependents="The department still has doctors, patients or appointments.",
    ),
)
def delete_department(department_id):
    """Delete an empty department.

    Admins. Refused with 409 has_dependents while doctors, patients or appointments refer to
    it.
    """
    department = service.get_department(department_id=department_id)
    require_match(DepartmentSchema().dump(department))
    service.delete_department(actor=current_actor(), department=department)
