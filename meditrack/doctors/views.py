from flask import url_for

from meditrack.core.api import Blueprint
from meditrack.core.http import require_match
from meditrack.core.pagination import ArchivedQuery
from meditrack.core.schemas import for_update
from meditrack.doctors import service
from meditrack.doctors.schemas import DoctorQuery, DoctorSchema
from meditrack.permissions import current_actor

blp = Blueprint(
    "doctors",
    __name__,
    url_prefix="/doctors",
    description="Doctors and their working hours. Anyone signed in reads; admins write.",
)


@blp.get("")
@blp.arguments(DoctorQuery, location="query")
@blp.response(200, DoctorSchema(many=True))
def list_doctors(args):
    """List doctors."""
    page = service.list_doctors(actor=current_actor(), args=args)
    return page.items, 200, page.headers


@blp.post("")
@blp.arguments(DoctorSchema)
@blp.response(201, DoctorSchema)
def create_doctor(data):
    """Create a doctor."""
    doctor = service.create_doctor(actor=current_actor(), data=data)
    return doctor, 201, {"Location": url_for("doctors.get_doctor", doctor_id=doctor.id)}


@blp.get("/<int:doctor_id>")
@blp.arguments(ArchivedQuery, location="query")
@blp.response(200, DoctorSchema)
def get_doctor(args, doctor_id):
    """Show one doctor."""
    return service.get_doctor(actor=current_actor(), doctor_id=doctor_id, with_hours=True, **args)


@blp.route("/<int:doctor_id>", methods=["PUT", "PATCH"])
@blp.arguments(for_update(DoctorSchema))
@blp.response(200, DoctorSchema)
def update_doctor(changes, doctor_id):
    """Update a doctor (only the fields sent change; working_hours is replaced whole)."""
    doctor = service.get_doctor(actor=current_actor(), doctor_id=doctor_id, with_hours=True)
    require_match(DoctorSchema().dump(doctor))
    return service.update_doctor(actor=current_actor(), doctor=doctor, changes=changes)


@blp.delete("/<int:doctor_id>")
@blp.response(204)
def archive_doctor(doctor_id):
    """Archive a doctor."""
    doctor = service.get_doctor(actor=current_actor(), doctor_id=doctor_id, with_hours=True)
    require_match(DoctorSchema().dump(doctor))
    service.archive_doctor(actor=current_actor(), doctor=doctor)


@blp.post("/<int:doctor_id>/restore")
@blp.response(200, DoctorSchema)
def restore_doctor(doctor_id):
    """Bring an archived doctor back (admin)."""
    actor = current_actor()
    doctor = service.get_doctor(
        actor=actor, doctor_id=doctor_id, include_archived=True, with_hours=True
    )
    return service.restore_doctor(actor=actor, doctor=doctor)
