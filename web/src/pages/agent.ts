// The agent console (/app/agent): the queue, "Take next case", the call with
// captures of the customer's video at its native resolution, the checklist
// and the decision. The case's status is polled while it is open, so a new
// attempt after a dropped call shows up at once.

import { api, ApiError, captureLabels, endReason, newKey, statusLabels, type CaseView, type JoinToken } from "../api";
import { createProvider, type CallProvider, type CallState, type EndReason } from "../call/types";
import { renderEvidence } from "../evidence";
import { cameras, MediaError, nextCamera, openCamera } from "../media";
import { requireSession, showWho, type Session } from "../signin";
import { $, el, formatTime, notice, setQuality, show, sleep } from "../ui";

let session: Session;
let current: CaseView | null = null;
let call: CallProvider | null = null;
let callAttempt = 0;
let stream: MediaStream | null = null;
let poller = 0;
let evidenceVersion = -1;

interface Pending {
  kind: string;
  blob: Blob;
  key: string; // one Idempotency-Key for every try of this upload
  width: number;
  height: number;
  url: string;
}
let pending: Pending | null = null;

const token = () => session.token;

// ---- queue ----

function customerWaiting(v: CaseView): boolean {
  return v.participants.customer.joined;
}

async function loadQueue(): Promise<CaseView[]> {
  const waiting = await api<{ cases: CaseView[] }>("/v1/cases?status=waiting_for_participants&limit=100", { token: token() });
  const mine = await api<{ cases: CaseView[] }>("/v1/cases?agent_id=" + encodeURIComponent(session.sub) + "&limit=100", { token: token() });
  const byId = new Map<string, CaseView>();
  for (const v of [...waiting.cases, ...mine.cases]) {
    if (["waiting_for_participants", "in_call", "awaiting_decision"].includes(v.status)) byId.set(v.id, v);
  }
  // Customers already in the waiting room first, then the oldest.
  return [...byId.values()].sort((a, b) =>
    Number(customerWaiting(b)) - Number(customerWaiting(a)) || a.created_at.localeCompare(b.created_at));
}

async function showQueue(): Promise<void> {
  stopPolling();
  current = null;
  show("screen-queue");
  let cases: CaseView[] = [];
  try {
    cases = await loadQueue();
  } catch (err) {
    notice(err instanceof Error ? err.message : String(err));
  }
  const rows = $("queue-rows");
  rows.replaceChildren();
  for (const v of cases) {
    const mine = v.agent_id === session.sub;
    const action = el("button", { type: "button", text: mine ? "Resume" : "Take case", "aria-label": (mine ? "Resume case " : "Take case ") + v.customer.reference });
    action.addEventListener("click", () => void take(v.id));
    rows.append(el("tr", { "data-case": v.id },
      el("td", { text: v.customer.name ?? "" }),
      el("td", { text: v.customer.reference }),
      el("td", { text: (customerWaiting(v) ? "customer waiting · " : "") + statusLabels[v.status] }),
      el("td", { text: formatTime(v.created_at) }),
      el("td", {}, action)));
  }
  $("queue-empty").hidden = cases.length > 0;
  $<HTMLButtonElement>("take-next").disabled = !cases.some((v) => !v.agent_id);
}

async function takeNext(): Promise<void> {
  const cases = await loadQueue();
  for (const v of cases.filter((c) => !c.agent_id)) {
    try {
      await take(v.id);
      return;
    } catch (err) {
      if (err instanceof ApiError && (err.code === "agent_conflict" || err.status === 403)) continue; // another agent was faster
      throw err;
    }
  }
  notice("No case is waiting for an agent.");
  await showQueue();
}

// take assigns the case to this agent (the join-token request does) and
// opens it.
async function take(id: string): Promise<void> {
  const jt = await joinToken(id);
  notice("");
  await openCase(id, jt);
}

async function joinToken(id: string): Promise<JoinToken> {
  for (let i = 0; ; i++) {
    try {
      return await api<JoinToken>("/v1/cases/" + id + "/join-tokens", { token: token(), json: { role: "agent" } });
    } catch (err) {
      if (err instanceof ApiError && err.code === "room_not_ready" && i < 20) {
        await sleep(500);
        continue;
      }
      throw err;
    }
  }
}

// ---- case ----

async function openCase(id: string, jt: JoinToken): Promise<void> {
  current = await api<CaseView>("/v1/cases/" + id, { token: token() });
  show("screen-case");
  $("case-title").textContent = "Case " + current.customer.reference + (current.customer.name ? " · " + current.customer.name : "");
  $("attempt-banner").hidden = true;
  $("decision-state").textContent = "";
  renderCaptureButtons();
  render();
  startPolling();
  await joinCall(jt);
}

async function joinCall(jt: JoinToken): Promise<void> {
  if (!current) return;
  try {
    if (!stream) stream = await openCamera();
  } catch (err) {
    notice(err instanceof MediaError ? err.message : String(err));
    return;
  }
  callAttempt = current.attempt;
  $("join-call").hidden = true;
  $("leave").hidden = false;
  $("remote-waiting").hidden = false;
  call = await createProvider(jt);
  await call.join(jt, session.sub, stream, { local: $<HTMLVideoElement>("local-video"), remote: $<HTMLVideoElement>("remote-video") }, {
    state: onState,
    remote: (present) => {
      $("remote-waiting").hidden = present;
      if (present) void setupSwitchCamera();
    },
    quality: (level) => setQuality($("quality"), level),
    autoplayBlocked: () => ($("unblock-audio").hidden = false),
  });
}

function onState(s: CallState, reason?: EndReason): void {
  document.body.dataset.call = s;
  $("reconnecting").hidden = s !== "reconnecting";
  if (s === "ended") {
    call = null;
    $("leave").hidden = true;
    stream?.getTracks().forEach((t) => t.stop());
    stream = null;
    $("remote-waiting").hidden = false;
    $("remote-waiting").textContent = reason === "left" ? "You left the call." : "The call has ended.";
  }
}

function startPolling(): void {
  stopPolling();
  poller = window.setInterval(() => void poll(), 1500);
}

function stopPolling(): void {
  window.clearInterval(poller);
  poller = 0;
}

async function poll(): Promise<void> {
  if (!current) return;
  try {
    current = await api<CaseView>("/v1/cases/" + current.id, { token: token() });
  } catch {
    return; // the next poll tries again
  }
  render();
}

function currentCaptures(v: CaseView) {
  return v.captures.filter((c) => c.attempt === v.attempt);
}

function render(): void {
  const v = current;
  if (!v) return;
  document.body.dataset.status = v.status;
  document.body.dataset.attempt = String(v.attempt);
  $("case-status").textContent = "Status: " + statusLabels[v.status] + " · attempt " + v.attempt +
    (v.participants.customer.joined ? " · customer in the room" : " · customer not in the room");
  if (callAttempt > 0 && v.attempt > callAttempt) {
    const prev = v.attempts[v.attempts.length - 2];
    const b = $("attempt-banner");
    b.textContent = "The call was interrupted" + (prev?.end_reason ? ": " + endReason(prev.end_reason) : "") +
      ". Attempt " + v.attempt + " has started: captures start again. Join the call when the customer is back.";
    b.hidden = false;
    if (call) void call.leave();
    $("join-call").hidden = v.status !== "waiting_for_participants";
  }
  const have = new Set(currentCaptures(v).map((c) => c.kind));
  const list = $("checklist");
  list.replaceChildren();
  for (const k of v.required_captures) {
    list.append(el("li", { class: have.has(k) ? "done" : "", "data-kind": k, text: captureLabels[k] + (have.has(k) ? " (taken)" : " (missing)") }));
  }
  const open = v.status === "in_call" || v.status === "awaiting_decision";
  const complete = v.required_captures.every((k) => have.has(k));
  $<HTMLButtonElement>("approve").disabled = !(open && complete);
  $<HTMLButtonElement>("reject").disabled = !open;
  for (const b of Array.from(document.querySelectorAll<HTMLButtonElement>("#capture-buttons button"))) b.disabled = !open;
  if (v.version !== evidenceVersion) {
    evidenceVersion = v.version;
    void renderEvidence($("evidence"), v.id, token()).catch(() => undefined);
  }
}

function renderCaptureButtons(): void {
  const box = $("capture-buttons");
  box.replaceChildren();
  const kinds = [...new Set([...(current?.required_captures ?? []), "other"])];
  for (const k of kinds) {
    const b = el("button", { type: "button", "data-kind": k, text: "Capture " + captureLabels[k] });
    b.addEventListener("click", () => void capture(k));
    box.append(b);
  }
}

// capture grabs a frame of the customer's video at the size it arrives in
// (videoWidth x videoHeight), not the size it is displayed at.
async function capture(kind: string): Promise<void> {
  const video = $<HTMLVideoElement>("remote-video");
  if (!video.videoWidth) {
    notice("There is no customer video to capture yet.");
    return;
  }
  const canvas = document.createElement("canvas");
  canvas.width = video.videoWidth;
  canvas.height = video.videoHeight;
  canvas.getContext("2d")!.drawImage(video, 0, 0, canvas.width, canvas.height);
  const blob = await new Promise<Blob | null>((r) => canvas.toBlob(r, "image/jpeg", 0.92));
  if (!blob) {
    notice("The frame could not be encoded.");
    return;
  }
  if (pending) URL.revokeObjectURL(pending.url);
  pending = { kind, blob, key: newKey(), width: canvas.width, height: canvas.height, url: URL.createObjectURL(blob) };
  const img = $<HTMLImageElement>("capture-image");
  img.src = pending.url;
  img.alt = "Captured " + captureLabels[kind] + " image";
  $("capture-info").textContent = captureLabels[kind] + ": " + canvas.width + " × " + canvas.height + " pixels, " + Math.round(blob.size / 1024) + " KiB";
  $("capture-preview").dataset.width = String(canvas.width);
  $("capture-preview").dataset.height = String(canvas.height);
  $("upload-state").textContent = "";
  $("capture-preview").hidden = false;
  $("capture-preview").scrollIntoView({ block: "nearest" });
  $("capture-upload").focus();
}

async function sha256Hex(b: Blob): Promise<string> {
  const d = await crypto.subtle.digest("SHA-256", await b.arrayBuffer());
  return Array.from(new Uint8Array(d), (x) => x.toString(16).padStart(2, "0")).join("");
}

// send posts the capture once; XMLHttpRequest because fetch reports no
// upload progress.
function send(p: Pending, sha: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    // The image itself as the body (its type, length and kind said up
    // front): the API streams it to storage in one PUT.
    xhr.open("POST", "/v1/cases/" + current!.id + "/captures?kind=" + encodeURIComponent(p.kind));
    xhr.setRequestHeader("Content-Type", p.blob.type);
    xhr.setRequestHeader("Authorization", "Bearer " + token());
    xhr.setRequestHeader("X-Content-SHA256", sha);
    xhr.setRequestHeader("Idempotency-Key", p.key);
    const bar = $<HTMLProgressElement>("upload-progress");
    bar.hidden = false;
    bar.value = 0;
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable) bar.value = Math.round((100 * e.loaded) / e.total);
    };
    xhr.onload = () => resolve({ status: xhr.status, body: xhr.responseText });
    xhr.onerror = () => reject(new Error("network"));
    xhr.send(p.blob);
  });
}

async function upload(): Promise<void> {
  const p = pending;
  if (!p || !current) return;
  const btn = $<HTMLButtonElement>("capture-upload");
  btn.disabled = true;
  const state = $("upload-state");
  const sha = await sha256Hex(p.blob);
  try {
    // A failed try is repeated with the same Idempotency-Key, so a capture
    // whose answer was lost registers once.
    for (let attempt = 1; ; attempt++) {
      state.textContent = attempt === 1 ? "Uploading…" : "Upload failed; retrying (try " + attempt + ")…";
      let res: { status: number; body: string } | null = null;
      try {
        res = await send(p, sha);
      } catch {
        res = null;
      }
      if (res && res.status === 201) {
        document.body.dataset.uploads = String(Number(document.body.dataset.uploads ?? "0") + 1);
        if (pending === p) {
          // Not if the agent moved on to another capture meanwhile.
          state.textContent = captureLabels[p.kind] + " uploaded.";
          $("capture-preview").hidden = true;
          pending = null;
        }
        await poll();
        return;
      }
      if (res && res.status < 500) {
        const msg = (JSON.parse(res.body || "{}") as { error?: { message?: string } }).error?.message ?? "status " + res.status;
        state.textContent = "Upload refused: " + msg;
        return;
      }
      if (attempt >= 5) {
        state.textContent = "Upload failed. Check the connection and press Upload again.";
        return;
      }
      await sleep(1000 * attempt);
    }
  } finally {
    btn.disabled = false;
  }
}

async function decide(outcome: "approve" | "reject"): Promise<void> {
  if (!current) return;
  const reason = $<HTMLTextAreaElement>("decision-reason").value.trim();
  if (outcome === "reject" && !reason) {
    $("decision-state").textContent = "Give a reason for the rejection.";
    $("decision-reason").focus();
    return;
  }
  try {
    current = await api<CaseView>("/v1/cases/" + current.id + "/decision", {
      token: token(), json: { outcome, reason }, headers: { "Idempotency-Key": newKey() },
    });
    $("decision-state").textContent = "Decision recorded: " + (outcome === "approve" ? "approved" : "rejected") + ". Leave the call when you have said goodbye.";
    render();
  } catch (err) {
    $("decision-state").textContent = err instanceof Error ? err.message : String(err);
  }
}

async function setupSwitchCamera(): Promise<void> {
  $("switch-camera").hidden = (await cameras()).length < 2;
}

// ---- wiring ----

$("take-next").addEventListener("click", () => void takeNext().catch((err) => notice(err instanceof Error ? err.message : String(err))));
$("refresh-queue").addEventListener("click", () => void showQueue());
$("capture-retake").addEventListener("click", () => pending && void capture(pending.kind));
$("capture-upload").addEventListener("click", () => void upload());
$("approve").addEventListener("click", () => void decide("approve"));
$("reject").addEventListener("click", () => void decide("reject"));
$("leave").addEventListener("click", () => void call?.leave());
$("join-call").addEventListener("click", async () => {
  if (!current) return;
  $("attempt-banner").hidden = true;
  try {
    await joinCall(await joinToken(current.id));
  } catch (err) {
    notice(err instanceof Error ? err.message : String(err));
  }
});
$("back-to-queue").addEventListener("click", async () => {
  await call?.leave();
  void showQueue();
});
$("switch-camera").addEventListener("click", async () => {
  const cur = stream?.getVideoTracks()[0]?.getSettings().deviceId;
  const next = nextCamera(await cameras(), cur);
  if (next && call) await call.switchCamera(next.deviceId);
});
$("unblock-audio").addEventListener("click", async () => {
  await call?.unblockAudio();
  $("unblock-audio").hidden = true;
});

void (async () => {
  session = await requireSession("agent");
  showWho(session);
  await showQueue();
})();
