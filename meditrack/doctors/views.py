from flask import url_for

from meditrack.core.api import Blueprint, checks_if_match, conflict
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
    """List doctors.

    Every signed-in user. Filter by department and specialization; q searches the names,
    email, specialization and licence number (every word must appear in one of them).
    Sorted by last name unless sort says otherwise; archived doctors only for admins. Paged.
    """
    page = service.list_doctors(actor=current_actor(), args=args)
    return page.items, 200, page.headers


@blp.post("")
@blp.arguments(DoctorSchema)
@blp.response(201, DoctorSchema)
@blp.alt_response(
    409,
    **conflict(
        "The licence number or the account belongs to another doctor.",
        duplicate="That licence number belongs to another doctor.",
    ),
)
def create_doctor(data):
    """Create a doctor.

    Admins. The licence number and the linked account belong to one doctor at most (409
    duplicate).
    """
    doctor = service.create_doctor(actor=current_actor(), data=data)
    return doctor, 201, {"Location": url_for("doctors.get_doctor", doctor_id=doctor.id)}


@blp.get("/<int:doctor_id>")
@blp.arguments(ArchivedQuery, location="query")
@blp.response(200, DoctorSchema)
def get_doctor(args, doctor_id):
    """Show one doctor.

    Every signed-in user, with the doctor's working hours and department. Send If-None-Match
    with its ETag to be answered 304 while it is unchanged.
    """
    return service.get_doctor(actor=current_actor(), doctor_id=doctor_id, with_hours=True, **args)


@blp.route("/<int:doctor_id>", methods=["PUT", "PATCH"])
@blp.arguments(for_update(DoctorSchema))
@blp.response(200, DoctorSchema)
@checks_if_match
@blp.alt_response(
    409,
    **conflict(
        "The licence number or the account belongs to another doctor.",
        duplicate="That licence number belongs to another doctor.",
    ),
)
def update_doctor(changes, doctor_id):
    """Update a doctor (only the fields sent change; working_hours is replaced whole).

    Admins. Only the fields sent change; working_hours, when sent, replaces the whole week
    (at most 50 periods, none overlapping). PUT and PATCH are the same; send If-Match to
    refuse a change over someone else's (412).
    """
    doctor = service.get_doctor(actor=current_actor(), doctor_id=doctor_id, with_hours=True)
    require_match(DoctorSchema().dump(doctor))
    return service.update_doctor(actor=current_actor(), doctor=doctor, changes=changes)


@blp.delete("/<int:doctor_id>")
@blp.response(204)
@checks_if_match
@blp.alt_response(
    409,
    **conflict(
        "The doctor still has upcoming appointments.",
        has_dependents="The doctor has 3 upcoming appointment(s); cancel or move them first.",
    ),
)
def archive_doctor(doctor_id):
    """Archive a doctor.

    Admins. Refused with 409 has_dependents while the doctor has upcoming appointments
    (scheduled or checked in, from now on); past and cancelled ones do not block it. An
    archived doctor keeps their email and licence number reserved.
    """
    doctor = service.get_doctor(actor=current_actor(), doctor_id=doctor_id, with_hours=True)
    require_match(DoctorSchema().dump(doctor))
    service.archive_doctor(actor=current_actor(), doctor=doctor)


@blp.post("/<int:doctor_id>/restore")
@blp.response(200, DoctorSchema)
def restore_doctor(doctor_id):
    """Bring an archived doctor back (admin).

    Admins. The doctor takes bookings again.
    """
    actor = current_actor()
    doctor = service.get_doctor(
        actor=actor, doctor_id=doctor_id, include_archived=True, with_hours=True
    )
    return service.restore_doctor(actor=actor, doctor=doctor)
