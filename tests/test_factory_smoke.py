from tests.conftest import count_rows


def test_factory_builds_a_small_world(app, factory, doctor_account, patient_account):
    _, doctor = doctor_account
    _, patient = patient_account
    factory.appointment(patient_id=patient["id"], doctor_id=doctor["id"])
    assert doctor["user_id"] is not None and patient["user_id"] is not None
    assert count_rows(app, "appointments") == 1
