from flask import url_for

from meditrack.audit.models import Action
from meditrack.audit.trail import trail
from meditrack.core.api import Blueprint, checks_if_match
from meditrack.core.http import require_match
from meditrack.core.pagination import ArchivedQuery
from meditrack.core.schemas import for_update
from meditrack.permissions import current_actor
from meditrack.records import service
from meditrack.records.schemas import RecordQuery, RecordSchema

blp = Blueprint(
    "records",
    __name__,
    description="Medical records: written by doctors, read by the patient's doctors, "
    "the patient and admins; never by receptionists.",
)


@blp.get("/patients/<int:patient_id>/records")
@blp.arguments(RecordQuery, location="query")
@blp.response(200, RecordSchema(many=True))
@trail("record", Action.LIST)
def list_records(args, patient_id):
    """List a patient's medical records, newest first.

    Admins, the patient, and doctors whose scope holds the patient; receptionists never.
    Newest record_date first unless sort says otherwise; q searches the diagnosis,
    treatment and notes (every word must appear in one of them). Paged.
    """
    page = service.list_records(actor=current_actor(), patient_id=patient_id, args=args)
    return page.items, 200, page.headers


@blp.post("/patients/<int:patient_id>/records")
@blp.arguments(RecordSchema)
@blp.response(201, RecordSchema)
@trail("record", Action.CREATE)
def create_record(data, patient_id):
    """Write a medical record for a patient (their doctors).

    Doctors whose scope holds the patient (including under emergency access); a patient
    outside it answers 404, as one that does not exist. The caller is the record's doctor.
    """
    record = service.create_record(actor=current_actor(), patient_id=patient_id, data=data)
    return record, 201, {"Location": url_for("records.get_record", record_id=record.id)}


@blp.get("/records/<int:record_id>")
@blp.arguments(ArchivedQuery, location="query")
@blp.response(200, RecordSchema)
@trail("record", Action.READ)
def get_record(args, record_id):
    """Show one medical record.

    Admins, the patient, and doctors whose scope holds the patient; 404 for anyone else.
    """
    return service.get_record(actor=current_actor(), record_id=record_id, **args)


@blp.route("/records/<int:record_id>", methods=["PUT", "PATCH"])
@blp.arguments(for_update(RecordSchema))
@blp.response(200, RecordSchema)
@trail("record", Action.UPDATE)
@checks_if_match
def update_record(changes, record_id):
    """Edit a medical record (its author).

    Its author only. PUT and PATCH are the same partial update; send If-Match to refuse a
    change over someone else's (412).
    """
    actor = current_actor()
    record = service.get_record(actor=actor, record_id=record_id)
    require_match(RecordSchema().dump(record))
    return service.update_record(actor=actor, record=record, changes=changes)


@blp.delete("/records/<int:record_id>")
@blp.response(204)
@trail("record", Action.ARCHIVE)
@checks_if_match
def archive_record(record_id):
    """Archive a medical record (its author, or an admin).

    Its author or an admin. Send If-Match to archive only the version you read.
    """
    actor = current_actor()
    record = service.get_record(actor=actor, record_id=record_id)
    require_match(RecordSchema().dump(record))
    service.archive_record(actor=actor, record=record)


@blp.post("/records/<int:record_id>/restore")
@blp.response(200, RecordSchema)
@trail("record", Action.RESTORE)
def restore_record(record_id):
    """Bring an archived medical record back (admin).

    Admins.
    """
    actor = current_actor()
    record = service.get_record(actor=actor, record_id=record_id, include_archived=True)
    return service.restore_record(actor=actor, record=record)
