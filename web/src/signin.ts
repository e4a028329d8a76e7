// Sign-in for the agent console and the auditor review. The engine says
// which methods it offers (GET /v1/sign-in): today only "development" (pick
// an id, get a token), which exists only when VKYC_ENV=development; single
// sign-on will add its own method here. The token lives in sessionStorage:
// it is gone when the tab closes and never reaches localStorage.

import { api, ApiError } from "./api";
import { $, show } from "./ui";

export interface Session {
  token: string;
  sub: string;
  role: string;
  expires_at: string;
}

const key = (role: string) => "vkyc.session." + role;

export function currentSession(role: string): Session | null {
  const raw = sessionStorage.getItem(key(role));
  if (!raw) return null;
  try {
    const s = JSON.parse(raw) as Session;
    if (new Date(s.expires_at).getTime() > Date.now() + 60_000) return s;
  } catch {
    // a broken entry is dropped below
  }
  sessionStorage.removeItem(key(role));
  return null;
}

export function signOut(role: string): void {
  sessionStorage.removeItem(key(role));
  location.reload();
}

// requireSession resolves with a session of role, showing the sign-in
// screen until there is one.
export async function requireSession(role: "agent" | "auditor"): Promise<Session> {
  const existing = currentSession(role);
  if (existing) return existing;
  show("screen-signin");
  const methods = await api<{ methods: string[]; environment: string }>("/v1/sign-in");
  if (!methods.methods.includes("development")) {
    const p = $("signin-unavailable");
    p.textContent = "Sign-in is not configured for this " + methods.environment + " installation. Ask your administrator to set up single sign-on.";
    p.hidden = false;
    return new Promise<Session>(() => {}); // nothing to do on this page
  }
  const form = $<HTMLFormElement>("signin-form");
  form.hidden = false;
  $<HTMLInputElement>("signin-id").focus();
  return new Promise<Session>((resolve) => {
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const id = $<HTMLInputElement>("signin-id").value.trim();
      try {
        const s = await api<Session>("/v1/sign-in/development", { json: { role, id } });
        sessionStorage.setItem(key(role), JSON.stringify(s));
        resolve(s);
      } catch (err) {
        const p = $("signin-unavailable");
        p.textContent = err instanceof ApiError ? err.message : String(err);
        p.hidden = false;
      }
    });
  });
}

export function showWho(s: Session): void {
  $("who").textContent = "Signed in as " + s.sub;
  const out = $("sign-out");
  out.hidden = false;
  out.addEventListener("click", () => signOut(s.role));
}
