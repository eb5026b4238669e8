// Front-end code written against the TypeScript types that openapi-typescript generates
// from the OpenAPI document (make lint-api-types). It is type-checked, never run: when the
// document stops describing what a front end relies on (a field it always reads, a body it
// sends, an error it shows), this file stops compiling.
//
// "meditrack-api" is the generated file; the Makefile points tsc's baseUrl at it
// (tools/build/committed/ or tools/build/fresh/).

import type { paths } from "meditrack-api";

type Json<R> = R extends { content: { "application/json": infer B } } ? B : never;
type ProblemJson<R> = R extends { content: { "application/problem+json": infer B } } ? B : never;

// A patient list, as the front desk's search page shows it.

type PatientListResponse = paths["/patients"]["get"]["responses"][200];
type PatientList = Json<PatientListResponse>;
type PatientQuery = NonNullable<paths["/patients"]["get"]["parameters"]["query"]>;

interface PatientRow {
  key: number;
  name: string;
  mrn: string;
  born: string;
  phone: string;
}

export function patientRows(patients: PatientList): PatientRow[] {
  return patients.map((patient) => ({
    key: patient.id,
    name: `${patient.last_name}, ${patient.first_name}`,
    mrn: patient.mrn,
    born: patient.date_of_birth,
    phone: patient.phone ?? "",
  }));
}

// The pager reads the total from the response header the API declares.
export function pageCount(headers: PatientListResponse["headers"], perPage: number): number {
  const total: number = headers["X-Total-Count"];
  return Math.ceil(total / perPage);
}

export const secondPage: PatientQuery = { page: 2, per_page: 50, q: "smith", gender: "female" };

// @ts-expect-error: gender is a closed vocabulary.
export const unknownGender: PatientQuery = { gender: "martian" };

// A booking, as the scheduling form sends it.

type BookingBody = Json<paths["/appointments"]["post"]["requestBody"]>;
type Booked = Json<paths["/appointments"]["post"]["responses"][201]>;

export const booking: BookingBody = {
  doctor_id: 3,
  patient_id: 42,
  start_time: "2026-12-14T09:30:00+01:00",
  duration_minutes: 30,
  reason: "Follow-up",
};

// @ts-expect-error: a booking names its doctor.
export const withoutDoctor: BookingBody = { start_time: "2026-12-14T09:30:00+01:00" };

// @ts-expect-error: the body takes no field the schema does not name.
export const withStatus: BookingBody = { doctor_id: 3, start_time: "2026-12-14T09:30:00+01:00", colour: "red" };

export function confirmation(appointment: Booked): string {
  const id: number = appointment.id;
  const start: string = appointment.start_time;
  const minutes: number = appointment.duration_minutes;
  return `Appointment ${id} at ${start} (${minutes} min) is ${appointment.status}`;
}

// The signed-in account, as the menu bar links it to the caller's own page.

type Account = Json<paths["/auth/me"]["get"]["responses"][200]>;

export function ownPage(account: Account): string {
  const doctorId: number | null = account.doctor_id;
  const patientId: number | null = account.patient_id;
  if (doctorId !== null) return `/doctors/${doctorId}`;
  if (patientId !== null) return `/patients/${patientId}`;
  return `/users/${account.id}`;
}

// A problem response, as an error banner shows it.

type NotFound = ProblemJson<paths["/patients/{patient_id}"]["get"]["responses"][404]>;
type Invalid = ProblemJson<paths["/appointments"]["post"]["responses"][422]>;
type Conflict = ProblemJson<paths["/appointments"]["post"]["responses"][409]>;

export function banner(problem: NotFound | Invalid | Conflict): string {
  const status: number = problem.status;
  const code: string = problem.code;
  return `${status} ${problem.title}: ${problem.detail ?? code}`;
}

export function fieldMessages(problem: Invalid): string[] {
  return Object.entries(problem.errors ?? {}).map(([field, messages]) => `${field}: ${messages.join(" ")}`);
}
