from flask import url_for

from meditrack.audit.models import Action
from meditrack.audit.trail import trail
from meditrack.core.api import Blueprint, checks_if_match, conflict
from meditrack.core.http import require_match
from meditrack.core.pagination import ArchivedQuery
from meditrack.core.schemas import for_update
from meditrack.patients import service
from meditrack.patients.schemas import PatientQuery, PatientSchema
from meditrack.permissions import current_actor

blp = Blueprint(
    "patients",
    __name__,
    url_prefix="/patients",
    description="Patients. Staff see all, a doctor their patients, a patient their own record.",
)


@blp.get("")
@blp.arguments(PatientQuery, location="query")
@blp.response(200, PatientSchema(many=True))
@trail("patient", Action.LIST)
def list_patients(args):
    """List the patients the caller may see.

    Admins and receptionists see every patient, a doctor the patients in their scope, a
    patient their own record (a list of one). q searches the first and last name, MRN,
    email and phone (every word must appear in one of them); filter by birth date, gender
    and department. Sorted by last name unless sort says otherwise. Paged, with
    X-Total-Count and Link.
    """
    page = service.list_patients(actor=current_actor(), args=args)
    return page.items, 200, page.headers


@blp.post("")
@blp.arguments(PatientSchema)
@blp.response(201, PatientSchema)
@trail("patient", Action.CREATE)
@blp.alt_response(
    409,
    **conflict(
        "The signed-in patient has a record already.",
        duplicate="Your account already has a patient record.",
    ),
)
def create_patient(data):
    """Register a patient (staff), or one's own record (a patient account, once).

    Admins and receptionists register any patient; a patient account may create its own
    record once (409 duplicate). Linking an account (user_id) is for admins only.
    """
    patient = service.create_patient(actor=current_actor(), data=data)
    return patient, 201, {"Location": url_for("patients.get_patient", patient_id=patient.id)}


@blp.get("/<int:patient_id>")
@blp.arguments(ArchivedQuery, location="query")
@blp.response(200, PatientSchema)
@trail("patient", Action.READ)
def get_patient(args, patient_id):
    """Show one patient.

    Anyone whose scope holds the patient; 404 otherwise, exactly as for one that does not
    exist. Send If-None-Match with its ETag to be answered 304 while it is unchanged.
    """
    return service.get_patient(actor=current_actor(), patient_id=patient_id, **args)


@blp.route("/<int:patient_id>", methods=["PUT", "PATCH"])
@blp.arguments(for_update(PatientSchema))
@blp.response(200, PatientSchema)
@trail("patient", Action.UPDATE)
@checks_if_match
def update_patient(changes, patient_id):
    """Update a patient (only the fields sent change; each role its own fields).

    Each role changes its own fields: staff every field but user_id (admins only), a doctor
    blood_type and allergies of their patients, a patient the contact fields of their own
    record. PUT and PATCH are the same partial update; send If-Match to refuse a change over
    someone else's (412).
    """
    actor = current_actor()
    patient = service.get_patient(actor=actor, patient_id=patient_id)
    require_match(PatientSchema().dump(patient))
    return service.update_patient(actor=actor, patient=patient, changes=changes)


@blp.delete("/<int:patient_id>")
@blp.response(204)
@trail("patient", Action.ARCHIVE)
@checks_if_match
def archive_patient(patient_id):
    """Archive a patient and cancel their upcoming appointments.

    Admins and receptionists. The patient leaves every list and their upcoming appointments
    are cancelled; an admin may restore them. Send If-Match to archive only the version you
    read.
    """
    actor = current_actor()
    patient = service.get_patient(actor=actor, patient_id=patient_id)
    require_match(PatientSchema().dump(patient))
    service.archive_patient(actor=actor, patient=patient)


@blp.post("/<int:patient_id>/restore")
@blp.response(200, PatientSchema)
@trail("patient", Action.RESTORE)
def restore_patient(patient_id):
    """Bring an archived patient back (admin).

    Admins. Appointments cancelled by the archive stay cancelled.
    """
    actor = current_actor()
    patient = service.get_patient(actor=actor, patient_id=patient_id, include_archived=True)
    return service.restore_patient(actor=actor, patient=patient)
