// Renders the customer's evidence (consent, location) for agents and
// auditors.

import { api, type Evidence } from "./api";
import { el, formatTime } from "./ui";

export async function renderEvidence(dl: HTMLElement, caseId: string, token: string): Promise<void> {
  const { evidence } = await api<{ evidence: Evidence[] }>("/v1/cases/" + caseId + "/customer-evidence", { token });
  dl.replaceChildren();
  const add = (term: string, value: string) => dl.append(el("dt", { text: term }), el("dd", { text: value }));
  if (evidence.length === 0) add("Evidence", "none yet");
  for (const e of evidence) {
    const d = e.details as Record<string, string | number | undefined>;
    const logged = e.in_event_log ? "" : " (not in the event log)";
    if (e.kind === "consent") {
      add("Consent", "given " + formatTime(String(d.accepted_at)) + ", text version " + d.text_version + logged);
      add("From", String(d.ip_address) + ", " + String(d.user_agent));
    } else if (e.kind === "location") {
      add("Location (attempt " + e.attempt + ")", Number(d.latitude).toFixed(5) + ", " + Number(d.longitude).toFixed(5) + " ± " + Math.round(Number(d.accuracy)) + " m" + logged);
    } else {
      add("Location (attempt " + e.attempt + ")", "not shared (" + (d.error || "refused") + ")" + logged);
    }
  }
}
