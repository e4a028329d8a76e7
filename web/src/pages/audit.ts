// The auditor review (/app/audit): cases awaiting audit (overdue first),
// a case with its captures, the verified recording, the agent's decision,
// the customer's evidence and the event log with its chain status, and the
// auditor's approve / reject / ask for recapture.

import { api, ApiError, captureLabels, newKey, statusLabels, type CaseView } from "../api";
import { renderEvidence } from "../evidence";
import { requireSession, showWho, type Session } from "../signin";
import { $, el, formatTime, notice, show } from "../ui";

let session: Session;
let current: CaseView | null = null;

interface EventRow { seq: number; type: string; actor_id: string; actor_role: string; at: string }
interface EventLog { events: EventRow[]; chain_valid: boolean; broken_at?: number; reason?: string }
interface Presigned { url: string; expires_at: string }

const token = () => session.token;

async function showList(): Promise<void> {
  current = null;
  show("screen-list");
  let cases: CaseView[] = [];
  try {
    cases = (await api<{ cases: CaseView[] }>("/v1/cases?status=awaiting_audit&limit=100", { token: token() })).cases;
  } catch (err) {
    notice(err instanceof Error ? err.message : String(err));
  }
  // Overdue first, then the longest waiting.
  cases.sort((a, b) => Number(b.overdue) - Number(a.overdue) || a.updated_at.localeCompare(b.updated_at));
  const rows = $("list-rows");
  rows.replaceChildren();
  for (const v of cases) {
    const open = el("button", { type: "button", text: "Review", "aria-label": "Review case " + v.customer.reference });
    open.addEventListener("click", () => void openCase(v.id));
    rows.append(el("tr", { "data-case": v.id },
      el("td", { text: v.customer.name ?? "" }),
      el("td", { text: v.customer.reference + (v.overdue ? " (overdue)" : "") }),
      el("td", { text: v.decision ? v.decision.outcome + (v.decision.reason ? ": " + v.decision.reason : "") : "" }),
      el("td", { text: formatTime(v.updated_at) }),
      el("td", {}, open)));
  }
  $("list-empty").hidden = cases.length > 0;
}

async function openCase(id: string): Promise<void> {
  notice("");
  current = await api<CaseView>("/v1/cases/" + id, { token: token() });
  const v = current;
  show("screen-case");
  document.body.dataset.status = v.status;
  $("case-title").textContent = "Case " + v.customer.reference + (v.customer.name ? " · " + v.customer.name : "");
  $("case-status").textContent = "Status: " + statusLabels[v.status] + " · attempt " + v.attempt + (v.overdue ? " · overdue" : "");
  $("agent-decision").textContent = v.decision
    ? v.decision.by + " decided to " + v.decision.outcome + " on " + formatTime(v.decision.at) + (v.decision.reason ? ': "' + v.decision.reason + '"' : "")
    : "No decision.";
  $("audit-state").textContent = "";
  const decided = Boolean(v.decision);
  $<HTMLButtonElement>("audit-approve").disabled = !decided || v.decision?.outcome !== "approve";

  // Recording: a presigned URL straight into the <video>.
  const video = $<HTMLVideoElement>("recording");
  try {
    const rec = await api<Presigned>("/v1/cases/" + id + "/recording", { token: token() });
    video.src = rec.url;
    $("recording-state").textContent = "Verified recording, " + (v.recording.duration ?? 0) + " s, SHA-256 " + (v.recording.sha256 ?? "");
  } catch (err) {
    video.removeAttribute("src");
    $("recording-state").textContent = err instanceof ApiError ? err.message : String(err);
  }

  // Captures of the attempt that was decided.
  const box = $("captures");
  box.replaceChildren();
  for (const c of v.captures.filter((c) => c.attempt === v.attempt)) {
    const fig = el("figure", { "data-kind": c.kind });
    const img = el("img", { alt: captureLabels[c.kind] + " capture" });
    fig.append(img, el("figcaption", { text: captureLabels[c.kind] + " · " + formatTime(c.created_at) }));
    box.append(fig);
    api<Presigned>("/v1/cases/" + id + "/captures/" + c.id, { token: token() })
      .then((p) => (img.src = p.url))
      .catch(() => (img.alt = "The image could not be loaded"));
  }

  void renderEvidence($("evidence"), id, token()).catch(() => undefined);
  await renderEvents(id);
}

async function renderEvents(id: string): Promise<void> {
  const log = await api<EventLog>("/v1/cases/" + id + "/events", { token: token() });
  const st = $("chain-status");
  st.textContent = log.chain_valid
    ? "The event chain verifies (" + log.events.length + " events)."
    : "The event chain does NOT verify: broken at event " + log.broken_at + " (" + (log.reason ?? "") + ").";
  st.className = log.chain_valid ? "chain-ok" : "chain-bad";
  const rows = $("event-rows");
  rows.replaceChildren();
  for (const e of log.events) {
    rows.append(el("tr", { "data-type": e.type },
      el("td", { text: String(e.seq) }), el("td", { text: formatTime(e.at) }),
      el("td", { text: e.type }), el("td", { text: e.actor_role + " " + e.actor_id })));
  }
}

async function audit(outcome: "approve" | "reject" | "recapture"): Promise<void> {
  if (!current) return;
  const reason = $<HTMLTextAreaElement>("audit-reason").value.trim();
  if (outcome !== "approve" && !reason) {
    $("audit-state").textContent = "Give a reason.";
    $("audit-reason").focus();
    return;
  }
  try {
    const v = await api<CaseView>("/v1/cases/" + current.id + "/audit", {
      token: token(), json: { outcome, reason }, headers: { "Idempotency-Key": newKey() },
    });
    document.body.dataset.status = v.status;
    $("audit-state").textContent = "Recorded. The case is now " + statusLabels[v.status] + ".";
    $("case-status").textContent = "Status: " + statusLabels[v.status];
  } catch (err) {
    $("audit-state").textContent = err instanceof Error ? err.message : String(err);
  }
}

$("refresh-list").addEventListener("click", () => void showList());
$("back-to-list").addEventListener("click", () => void showList());
$("audit-approve").addEventListener("click", () => void audit("approve"));
$("audit-reject").addEventListener("click", () => void audit("reject"));
$("audit-recapture").addEventListener("click", () => void audit("recapture"));

void (async () => {
  session = await requireSession("auditor");
  showWho(session);
  await showList();
})();
