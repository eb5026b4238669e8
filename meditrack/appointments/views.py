from flask import Response, url_for

from meditrack.appointments import availability, calendar, service, time_off
from meditrack.appointments.idempotency import idempotent
from meditrack.appointments.schemas import (
    AppointmentQuery,
    AppointmentSchema,
    AppointmentUpdateSchema,
    AvailabilityQuery,
    BookingSchema,
    DepartmentSlotSchema,
    HistoryEntrySchema,
    SlotSchema,
    TimeOffQuery,
    TimeOffSchema,
    WindowQuery,
)
from meditrack.audit.models import Action
from meditrack.audit.trail import refusals, trail
from meditrack.core.api import Blueprint, checks_if_match, conflict
from meditrack.core.http import require_match
from meditrack.core.pagination import ArchivedQuery
from meditrack.departments import service as departments_service
from meditrack.doctors import service as doctors_service
from meditrack.permissions import current_actor

blp = Blueprint(
    "appointments",
    __name__,
    url_prefix="/appointments",
    description="Booking, moving, checking in and cancelling appointments.",
)
schedule = Blueprint(
    "scheduling", __name__, description="Free slots, doctors' time off and calendar feeds."
)

ICS_DOC = {
    "responses": {
        "200": {
            "description": "An iCalendar (RFC 5545) feed.",
            "content": {"text/calendar": {"schema": {"type": "string"}}},
            "headers": {"Content-Disposition": "ContentDisposition"},
        }
    }
}


@blp.get("")
@blp.arguments(AppointmentQuery, location="query")
@blp.response(200, AppointmentSchema(many=True))
@trail("appointment", Action.LIST)
def list_appointments(args):
    """List the appointments the caller may see.

    Admins and receptionists see every appointment, a doctor their own, a patient theirs.
    Filter by doctor, patient, department, status and a from/to window; archived ones only
    for admins with include_archived. Filters narrow the caller's scope, never widen it.
    Sorted by start time unless sort says otherwise; no q. Paged, with X-Total-Count and
    Link.
    """
    page = service.list_appointments(actor=current_actor(), args=args)
    return page.items, 200, page.headers


@blp.post("")
@idempotent
@blp.doc(parameters=["IdempotencyKey"])
@blp.arguments(BookingSchema)
@blp.response(201, AppointmentSchema)
@trail("appointment", Action.CREATE)
@blp.alt_response(
    409,
    **conflict(
        "The time overlaps another appointment of the doctor or the patient.",
        appointment_conflict="Dr. Grey already has an appointment at that time.",
    ),
)
@blp.alt_response(404, "NOT_FOUND", description="No such patient, or one outside your scope.")
def book_appointment(data):
    """Book an appointment (never overlapping the doctor's or the patient's others).

    Staff book any patient with any doctor; a doctor books only patients already in their
    scope (with themselves, or as a referral); a patient books for themselves. The time must
    fall in the doctor's working hours and outside their time off, and never overlap another
    active appointment of the doctor or the patient (409 appointment_conflict lists the
    clashing times). Send an Idempotency-Key to retry safely.
    """
    appointment = service.book(actor=current_actor(), data=data)
    location = url_for("appointments.get_appointment", appointment_id=appointment.id)
    return appointment, 201, {"Location": location}


@blp.get("/<int:appointment_id>")
@blp.arguments(ArchivedQuery, location="query")
@blp.response(200, AppointmentSchema)
@trail("appointment", Action.READ)
def get_appointment(args, appointment_id):
    """Show one appointment.

    Anyone who may see the appointment; 404 otherwise, exactly as for one that does not
    exist. Send If-None-Match with its ETag to be answered 304 while it is unchanged.
    """
    return service.get_appointment(actor=current_actor(), appointment_id=appointment_id, **args)


@blp.route("/<int:appointment_id>", methods=["PUT", "PATCH"])
@blp.arguments(AppointmentUpdateSchema)
@blp.response(200, AppointmentSchema)
@trail("appointment", Action.UPDATE)
@checks_if_match
@blp.alt_response(
    409,
    **conflict(
        "The new time overlaps another appointment of the doctor or the patient.",
        appointment_conflict="Dr. Grey already has an appointment at that time.",
    ),
)
def update_appointment(changes, appointment_id):
    """Move it, edit reason and notes, or change its status (with cancellation_reason).

    Move it (times, doctor), edit reason and notes, or change its status on its own:
    scheduled to checked_in, no_show or cancelled (with cancellation_reason), checked_in to
    completed. Who may make which change is in the guide. A move is checked like a booking
    (409 appointment_conflict). PUT and PATCH are the same partial update; send If-Match to
    refuse a change over someone else's (412).
    """
    actor = current_actor()
    appointment = service.get_appointment(actor=actor, appointment_id=appointment_id)
    require_match(AppointmentSchema().dump(appointment))
    return service.update(actor=actor, appointment=appointment, changes=changes)


@blp.delete("/<int:appointment_id>")
@blp.response(204)
@trail("appointment", Action.ARCHIVE)
@checks_if_match
def archive_appointment(appointment_id):
    """Archive an appointment (its time becomes free).

    Admins and receptionists. The appointment leaves every list and its time becomes free;
    an admin may restore it. Send If-Match with the ETag you read to archive only that
    version.
    """
    actor = current_actor()
    appointment = service.get_appointment(actor=actor, appointment_id=appointment_id)
    require_match(AppointmentSchema().dump(appointment))
    service.archive(actor=actor, appointment=appointment)


@blp.post("/<int:appointment_id>/restore")
@blp.response(200, AppointmentSchema)
@trail("appointment", Action.RESTORE)
@blp.alt_response(
    409,
    **conflict(
        "Its time has been booked since it was archived.",
        appointment_conflict="That time has been booked since.",
    ),
)
def restore_appointment(appointment_id):
    """Bring an archived appointment back (admin).

    Admins. Refused with 409 appointment_conflict when its time has been booked since.
    """
    actor = current_actor()
    appointment = service.get_appointment(
        actor=actor, appointment_id=appointment_id, include_archived=True
    )
    return service.restore(actor=actor, appointment=appointment)


@blp.get("/<int:appointment_id>/history")
@blp.response(200, HistoryEntrySchema(many=True))
@trail("appointment", Action.READ)
def get_appointment_history(appointment_id):
    """The booking, then every status change and move, oldest first.

    Each entry names who changed what and when: the booking, each status change and each
    move. Visible to whoever may see the appointment.
    """
    return service.history(actor=current_actor(), appointment_id=appointment_id)


@schedule.get("/doctors/<int:doctor_id>/availability")
@schedule.arguments(AvailabilityQuery, location="query")
@schedule.response(200, SlotSchema(many=True))
def get_doctor_availability(args, doctor_id):
    """Free slots of a doctor (every one of them, not paginated).

    Every signed-in user. The doctor's free slots for `days` days (at most 14) from `date`,
    computed from working hours, time off and bookings; not paged.
    """
    doctor = doctors_service.get_doctor(actor=current_actor(), doctor_id=doctor_id)
    slots = availability.free_slots(
        [doctor], first_day=args.get("date"), days=args["days"], duration=args.get("duration")
    )
    return [{"start_time": start, "end_time": end} for _, start, end in slots]


@schedule.get("/departments/<int:department_id>/availability")
@schedule.arguments(AvailabilityQuery, location="query")
@schedule.response(200, DepartmentSlotSchema(many=True))
def get_department_availability(args, department_id):
    """Free slots of every active doctor of a department (not paginated).

    Every signed-in user. Free slots of each active doctor of the department, for `days`
    days (at most 14) from `date`, computed from working hours, time off and bookings; not
    paged.
    """
    departments_service.get_department(department_id=department_id)
    doctors = doctors_service.doctors_of_department(department_id)
    slots = availability.free_slots(
        doctors, first_day=args.get("date"), days=args["days"], duration=args.get("duration")
    )
    return [
        {"doctor_id": doctor_id, "start_time": start, "end_time": end}
        for doctor_id, start, end in slots
    ]


@schedule.get("/doctors/<int:doctor_id>/time-off")
@schedule.arguments(TimeOffQuery, location="query")
@schedule.response(200, TimeOffSchema(many=True))
def list_time_off(args, doctor_id):
    """A doctor's time off (staff and the doctor).

    Staff and the doctor, sorted by start time; paged.
    """
    actor = current_actor()
    doctor = doctors_service.get_doctor(actor=actor, doctor_id=doctor_id)
    page = time_off.list_time_off(actor=actor, doctor=doctor, args=args)
    return page.items, 200, page.headers


@schedule.post("/doctors/<int:doctor_id>/time-off")
@schedule.arguments(TimeOffSchema)
@schedule.response(201, TimeOffSchema)
@blp.alt_response(
    409,
    **conflict(
        "Booked appointments fall in the time off; move or cancel them first.",
        appointment_conflict="2 appointments fall in that time off.",
    ),
)
def add_time_off(data, doctor_id):
    """Add time off (admin, the doctor); refused over booked appointments.

    Admins and the doctor. Refused with 409 appointment_conflict while active appointments
    fall in it: move or cancel them first.
    """
    actor = current_actor()
    doctor = doctors_service.get_doctor(actor=actor, doctor_id=doctor_id)
    return time_off.add_time_off(actor=actor, doctor=doctor, data=data)


@schedule.delete("/doctors/<int:doctor_id>/time-off/<int:time_off_id>")
@schedule.response(204)
def remove_time_off(doctor_id, time_off_id):
    """Delete time off (admin, the doctor).

    Admins and the doctor. The entry is deleted for good and the time becomes bookable
    again. An entry that does not exist or is another doctor's answers 404.
    """
    actor = current_actor()
    doctor = doctors_service.get_doctor(actor=actor, doctor_id=doctor_id)
    time_off.remove_time_off(actor=actor, doctor=doctor, time_off_id=time_off_id)


@schedule.get("/doctors/<int:doctor_id>/calendar.ics")
@schedule.arguments(WindowQuery, location="query")
@schedule.doc(**ICS_DOC)
@refusals("appointment", Action.LIST)
def get_doctor_calendar(args, doctor_id):
    """A doctor's appointments as an iCalendar feed (admin, receptionist, the doctor).

    An iCalendar (RFC 5545) feed of the doctor's active appointments, for a calendar
    application. Admins, receptionists and the doctor.
    """
    actor = current_actor()
    doctor = doctors_service.get_doctor(actor=actor, doctor_id=doctor_id)
    return _ics(
        calendar.doctor_calendar(actor=actor, doctor=doctor, args=args), "doctor", doctor_id
    )


@schedule.get("/patients/<int:patient_id>/calendar.ics")
@schedule.arguments(WindowQuery, location="query")
@schedule.doc(**ICS_DOC)
@refusals("appointment", Action.LIST)
def get_patient_calendar(args, patient_id):
    """A patient's appointments as an iCalendar feed (staff, the patient).

    An iCalendar (RFC 5545) feed of the patient's active appointments. Staff and the
    patient.
    """
    feed = calendar.patient_calendar(actor=current_actor(), patient_id=patient_id, args=args)
    return _ics(feed, "patient", patient_id)


def _ics(body: bytes, kind: str, ident: int) -> Response:
    response = Response(body, mimetype="text/calendar")
    response.headers["Content-Disposition"] = f'inline; filename="{kind}-{ident}.ics"'
    return response
