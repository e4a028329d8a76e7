// The customer's page (/app/join/<invite>): consent, device preview,
// location, waiting room, call, end screen. The invite from the link is the
// only credential; it goes to the API in the X-Invite-Token header and is
// kept in memory while the page is open.

import { api, ApiError, type JoinToken } from "../api";
import { createProvider, type CallProvider, type CallState, type EndReason } from "../call/types";
import { cameras, MediaError, mediaMessages, nextCamera, openCamera } from "../media";
import { $, notice, setQuality, show, sleep } from "../ui";

interface InviteStatus {
  case_id: string;
  stage: "waiting" | "in_call" | "completed" | "closed";
  attempt: number;
  agent_joined: boolean;
  previous_attempt_interrupted: boolean;
  consent: { text: string; version: string; given: boolean };
  location?: { kind: string; attempt: number };
}

// The invite is base64url: it needs no decoding, and anything else in the
// path is not an invite (the API answers invite_invalid).
const invite = location.pathname.replace(/^\/app\/join\//, "").split("/")[0] ?? "";
let status: InviteStatus;
let stream: MediaStream | null = null;
let call: CallProvider | null = null;
let joinedAttempt = 0;

const inviteApi = <T>(path: string, json?: unknown) => api<T>(path, { invite, json, method: json === undefined && path === "/v1/invite" ? "GET" : "POST" });

function invalid(err: unknown): boolean {
  if (!(err instanceof ApiError) || (err.status !== 401 && err.status !== 410)) return false;
  $("invalid-message").textContent = err.message;
  $("invalid-title").textContent = err.status === 410 ? "This link has expired or was withdrawn" : "This link is not valid";
  show("screen-invalid");
  return true;
}

function fail(err: unknown): void {
  if (invalid(err)) return;
  notice(err instanceof Error ? err.message : String(err));
}

async function refresh(): Promise<void> {
  status = await inviteApi<InviteStatus>("/v1/invite");
}

function ended(kind: "completed" | "interrupted" | "closed" | "left"): void {
  const text = {
    completed: ["Your call is complete", "Thank you. The bank will let you know the result of your verification."],
    interrupted: ["The call was interrupted", "The call was interrupted: you will be invited again. You can close this page."],
    closed: ["This verification has ended", "This verification is no longer open. Contact the bank if you have questions."],
    left: ["You left the call", "You left the call. The bank will contact you to continue your verification."],
  }[kind];
  $("end-title").textContent = text[0];
  $("end-message").textContent = text[1];
  document.body.dataset.end = kind;
  show("screen-end");
}

async function start(): Promise<void> {
  if (invite.length === 0) {
    $("invalid-message").textContent = "The link is incomplete. Open the whole link the bank sent you.";
    show("screen-invalid");
    return;
  }
  try {
    await refresh();
  } catch (err) {
    if (!invalid(err)) {
      $("invalid-title").textContent = "The service cannot be reached";
      $("invalid-message").textContent = err instanceof Error ? err.message : String(err);
      show("screen-invalid");
    }
    return;
  }
  if (status.stage === "completed") return ended("completed");
  if (status.stage === "closed") return ended("closed");
  if (status.previous_attempt_interrupted) notice("Your previous call was interrupted. Let's start again.");
  consent();
}

function consent(): void {
  if (status.consent.given) {
    void preview();
    return;
  }
  $("consent-text").textContent = status.consent.text;
  $("consent-version").textContent = status.consent.version;
  show("screen-consent");
}

$("consent-agree").addEventListener("click", async () => {
  const b = $<HTMLButtonElement>("consent-agree");
  b.disabled = true;
  try {
    status = await inviteApi<InviteStatus>("/v1/invite/consent", { version: status.consent.version, agree: true });
    notice("");
    void preview();
  } catch (err) {
    if (err instanceof ApiError && err.code === "consent_version_outdated") {
      await refresh();
      consent();
    }
    fail(err);
  } finally {
    b.disabled = false;
  }
});

async function preview(): Promise<void> {
  show("screen-preview");
  const errEl = $("preview-error");
  const retry = $<HTMLButtonElement>("preview-retry");
  const cont = $<HTMLButtonElement>("preview-continue");
  errEl.hidden = true;
  retry.hidden = true;
  cont.disabled = true;
  try {
    stream = await openCamera();
    $<HTMLVideoElement>("preview-video").srcObject = stream;
    cont.disabled = false;
    cont.focus();
  } catch (err) {
    const problem = err instanceof MediaError ? err.problem : "other";
    errEl.textContent = err instanceof MediaError ? err.message : mediaMessages.other;
    errEl.dataset.problem = problem;
    errEl.hidden = false;
    retry.hidden = false;
    retry.focus();
  }
}

$("preview-retry").addEventListener("click", () => void preview());
$("preview-continue").addEventListener("click", () => locationStep());

function locationStep(): void {
  if (status.location && status.location.attempt === status.attempt) {
    void waitingRoom();
    return;
  }
  show("screen-location");
}

$("location-share").addEventListener("click", () => {
  const b = $<HTMLButtonElement>("location-share");
  b.disabled = true;
  $("location-result").textContent = "Asking your browser for your location…";
  const send = async (body: unknown, msg: string) => {
    try {
      status = await inviteApi<InviteStatus>("/v1/invite/location", body);
      $("location-result").textContent = msg;
      await sleep(600);
      void waitingRoom();
    } catch (err) {
      fail(err);
    } finally {
      b.disabled = false;
    }
  };
  if (!navigator.geolocation) {
    void send({ refused: true, error: "unsupported" }, "Your browser cannot share a location; this is recorded.");
    return;
  }
  navigator.geolocation.getCurrentPosition(
    (pos) => void send({ latitude: pos.coords.latitude, longitude: pos.coords.longitude, accuracy: pos.coords.accuracy },
      "Location shared (accurate to " + Math.round(pos.coords.accuracy) + " m)."),
    (e) => {
      const reason = ["", "permission_denied", "position_unavailable", "timeout"][e.code] ?? "unknown";
      void send({ refused: true, error: reason }, "Your location was not shared; the bank records this.");
    },
    { enableHighAccuracy: true, timeout: 15_000, maximumAge: 60_000 },
  );
});

async function waitingRoom(): Promise<void> {
  show("screen-waiting");
  let jt: JoinToken;
  try {
    jt = await inviteApi<JoinToken>("/v1/invite/join-token", {});
  } catch (err) {
    if (err instanceof ApiError && err.code === "room_not_ready") {
      await sleep(1000);
      return waitingRoom();
    }
    if (err instanceof ApiError && err.code === "location_required") return show("screen-location");
    if (err instanceof ApiError && err.code === "consent_required") return consent();
    return fail(err);
  }
  if (!stream) stream = await openCamera();
  joinedAttempt = status.attempt;
  call = await createProvider(jt);
  const els = { local: $<HTMLVideoElement>("local-video"), remote: $<HTMLVideoElement>("remote-video") };
  try {
    await call.join(jt, "Customer", stream, els, {
      state: onState,
      remote: (present) => {
        if (present) {
          show("screen-call");
          void setupSwitchCamera();
        } else if (!$("screen-call").hidden) {
          show("screen-waiting");
        }
      },
      quality: (level) => setQuality($("quality"), level),
      autoplayBlocked: () => ($("unblock-audio").hidden = false),
    });
  } catch (err) {
    fail(err);
  }
}

function onState(s: CallState, reason?: EndReason): void {
  document.body.dataset.call = s;
  $("reconnecting").hidden = s !== "reconnecting";
  if (s === "ended") void afterCall(reason ?? "error");
}

async function afterCall(reason: EndReason): Promise<void> {
  stream?.getTracks().forEach((t) => t.stop());
  stream = null;
  if (reason === "left") return ended("left");
  // Let the engine take in what happened, then say where the case stands.
  for (let i = 0; i < 10; i++) {
    try {
      await refresh();
    } catch (err) {
      if (invalid(err)) return;
    }
    if (status.stage === "completed") return ended("completed");
    if (status.stage === "closed") return ended("closed");
    if (status.attempt > joinedAttempt || reason === "dropped") return ended("interrupted");
    await sleep(1000);
  }
  ended("interrupted");
}

async function setupSwitchCamera(): Promise<void> {
  const list = await cameras();
  $("switch-camera").hidden = list.length < 2;
}

$("switch-camera").addEventListener("click", async () => {
  const current = ($<HTMLVideoElement>("local-video").srcObject as MediaStream | null)?.getVideoTracks()[0]?.getSettings().deviceId;
  const next = nextCamera(await cameras(), current);
  if (next && call) await call.switchCamera(next.deviceId);
});
$("unblock-audio").addEventListener("click", async () => {
  await call?.unblockAudio();
  $("unblock-audio").hidden = true;
});
$("leave").addEventListener("click", () => void call?.leave());

void start();
