// The engine's HTTP API as the pages use it: JSON in and out, errors in the
// API's shape {"error": {"code", "message"}} turned into ApiError.

export class ApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

export interface RequestOptions {
  method?: string;
  token?: string; // bearer token of a signed-in person
  invite?: string; // the customer's invite (X-Invite-Token)
  json?: unknown;
  headers?: Record<string, string>;
}

export async function api<T>(path: string, o: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json", ...(o.headers ?? {}) };
  if (o.token) headers["Authorization"] = "Bearer " + o.token;
  if (o.invite) headers["X-Invite-Token"] = o.invite;
  let body: string | undefined;
  if (o.json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(o.json);
  }
  let resp: Response;
  try {
    resp = await fetch(path, { method: o.method ?? (body ? "POST" : "GET"), headers, body, cache: "no-store", credentials: "omit" });
  } catch {
    throw new ApiError(0, "network", "The connection to the server failed. Check your network and try again.");
  }
  const text = await resp.text();
  let data: unknown = undefined;
  try {
    data = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON; handled below
  }
  if (!resp.ok) {
    const err = (data as { error?: { code?: string; message?: string } } | undefined)?.error;
    throw new ApiError(resp.status, err?.code ?? "http_" + resp.status, err?.message ?? "The server answered " + resp.status + ".");
  }
  return data as T;
}

// Types of the API's answers that the pages read.
export type Status =
  | "waiting_for_participants" | "in_call" | "awaiting_decision" | "awaiting_recording"
  | "awaiting_audit" | "approved" | "rejected" | "expired" | "cancelled" | "failed";

export interface Capture { id: string; kind: string; attempt: number; sha256: string; size: number; created_at: string }
export interface Verdict { by: string; outcome: string; reason?: string; at: string }
export interface Attempt { number: number; room_id: string; status: string; end_reason?: string; started_at: string }
export interface CaseView {
  id: string;
  status: Status;
  status_reason?: string;
  customer: { reference: string; name?: string };
  agent_id?: string;
  required_captures: string[];
  attempt: number;
  attempts: Attempt[];
  participants: { agent: { joined: boolean }; customer: { joined: boolean } };
  captures: Capture[];
  recording: { status: string; duration?: number; sha256?: string };
  decision?: Verdict;
  audit?: Verdict;
  overdue: boolean;
  created_at: string;
  updated_at: string;
  version: number;
}

export interface JoinToken {
  room_id: string;
  role: string;
  token: string;
  expires_at: string;
  provider: "100ms" | "simulator";
  simulator_url?: string;
}

export interface Evidence { id: string; kind: string; attempt: number; sha256: string; details: Record<string, unknown>; in_event_log: boolean }

// newKey makes an Idempotency-Key: random, so two captures never share one,
// and kept by the caller for the retries of one upload.
export function newKey(): string {
  return crypto.randomUUID();
}

export const captureLabels: Record<string, string> = {
  face: "face", id_front: "ID front", id_back: "ID back", pan: "PAN", other: "other",
};

export const statusLabels: Record<string, string> = {
  waiting_for_participants: "waiting for participants", in_call: "in call", awaiting_decision: "awaiting decision",
  awaiting_recording: "awaiting the recording", awaiting_audit: "awaiting audit", approved: "approved",
  rejected: "rejected", expired: "expired", cancelled: "cancelled", failed: "failed",
};

// endReasons says in words why an attempt ended (the workflow's reasons).
export const endReasons: Record<string, string> = {
  network_drop: "a participant's connection dropped",
  call_ended_without_captures: "the call ended before every required capture was taken",
  max_call_length: "the call reached its time limit",
  decision_window_elapsed: "no decision was made in time",
  recording_failed: "the recording failed",
  recording_missing: "the recording never arrived",
  recording_invalid: "the recording could not be verified",
  audit_recapture: "the auditor asked for a recapture",
  join_timeout: "nobody joined in time",
  room_creation_failed: "the room could not be created",
};

export function endReason(code: string | undefined): string {
  if (!code) return "";
  return endReasons[code] ?? code.replace(/_/g, " ");
}
