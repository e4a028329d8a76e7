// Sign-in for the agent console and the auditor review. The engine says
// which methods it offers (GET /v1/sign-in): "oidc", single sign-on with the
// bank's identity provider, when OIDC_ISSUER is set, and "development" (pick
// an id, get a token) only when VKYC_ENV=development. The token lives in
// sessionStorage: it is gone when the tab closes and never reaches
// localStorage.
//
// Single sign-on is the authorization-code flow with PKCE, the page itself
// being the redirect URI: the API makes the state and the code verifier
// (POST /v1/sign-in/oidc/start), the page keeps both in sessionStorage and
// goes to the provider; the provider sends the person back with a code in
// the address, which the page removes at once and hands with the verifier
// to the API (POST /v1/sign-in/oidc), which exchanges it for the provider's
// access token. No token is ever in an address.

import { api, ApiError } from "./api";
import { $, show } from "./ui";

export interface Session {
  token: string;
  sub: string;
  role: string;
  expires_at: string;
}

type Page = "agent" | "audit";

interface Pending {
  state: string;
  code_verifier: string;
  page: Page;
}

const key = (role: string) => "vkyc.session." + role;
const pendingKey = "vkyc.sso.pending";
const roleNames: Record<string, string> = { agent: "an agent", auditor: "an auditor", admin: "an admin", service: "a service" };

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

function fail(text: string): void {
  const p = $("signin-unavailable");
  p.textContent = text;
  p.hidden = false;
}

// startSingleSignOn sends the person to the identity provider.
async function startSingleSignOn(page: Page): Promise<void> {
  const start = await api<{ authorization_url: string; state: string; code_verifier: string }>("/v1/sign-in/oidc/start", { json: { page } });
  const pending: Pending = { state: start.state, code_verifier: start.code_verifier, page };
  sessionStorage.setItem(pendingKey, JSON.stringify(pending));
  location.assign(start.authorization_url);
}

// finishSingleSignOn handles the provider sending the person back: the
// code (or the provider's error) leaves the address before anything else.
async function finishSingleSignOn(role: string, page: Page, params: URLSearchParams): Promise<Session | null> {
  history.replaceState(null, "", location.pathname);
  const raw = sessionStorage.getItem(pendingKey);
  sessionStorage.removeItem(pendingKey);
  show("screen-signin");
  const error = params.get("error");
  if (error) {
    fail("The identity provider did not sign you in: " + (params.get("error_description") || error) + ".");
    return null;
  }
  let pending: Pending | null = null;
  try {
    pending = raw ? (JSON.parse(raw) as Pending) : null;
  } catch {
    pending = null;
  }
  if (!pending || pending.page !== page || pending.state !== params.get("state")) {
    fail("This sign-in was not started from this page (or it was started twice). Sign in again.");
    return null;
  }
  try {
    const s = await api<Session>("/v1/sign-in/oidc", { json: { page, code: params.get("code"), code_verifier: pending.code_verifier } });
    if (s.role !== role) {
      fail("You signed in as " + s.sub + ", who is " + (roleNames[s.role] ?? s.role) + "; this page is for " + roleNames[role] + ".");
      return null;
    }
    sessionStorage.setItem(key(role), JSON.stringify(s));
    return s;
  } catch (err) {
    fail(err instanceof ApiError ? err.message : String(err));
    return null;
  }
}

// requireSession resolves with a session of role, showing the sign-in
// screen until there is one.
export async function requireSession(role: "agent" | "auditor"): Promise<Session> {
  const page: Page = role === "agent" ? "agent" : "audit";
  const params = new URLSearchParams(location.search);
  if (params.has("code") || params.has("error")) {
    const s = await finishSingleSignOn(role, page, params);
    if (s) return s;
  }
  const existing = currentSession(role);
  if (existing) return existing;
  show("screen-signin");
  const methods = await api<{ methods: string[]; environment: string }>("/v1/sign-in");
  const sso = methods.methods.includes("oidc");
  const dev = methods.methods.includes("development");
  if (!sso && !dev) {
    fail("Sign-in is not configured for this " + methods.environment + " installation. Ask your administrator to set up single sign-on.");
    return new Promise<Session>(() => {}); // nothing to do on this page
  }
  return new Promise<Session>((resolve) => {
    if (sso) {
      const b = $<HTMLButtonElement>("signin-sso");
      b.hidden = false;
      b.addEventListener("click", async () => {
        b.disabled = true;
        try {
          await startSingleSignOn(page);
        } catch (err) {
          b.disabled = false;
          fail(err instanceof ApiError ? err.message : String(err));
        }
      });
      if (!dev) b.focus();
    }
    if (dev) {
      const form = $<HTMLFormElement>("signin-form");
      form.hidden = false;
      $<HTMLInputElement>("signin-id").focus();
      form.addEventListener("submit", async (ev) => {
        ev.preventDefault();
        const id = $<HTMLInputElement>("signin-id").value.trim();
        try {
          const s = await api<Session>("/v1/sign-in/development", { json: { role, id } });
          sessionStorage.setItem(key(role), JSON.stringify(s));
          resolve(s);
        } catch (err) {
          fail(err instanceof ApiError ? err.message : String(err));
        }
      });
    }
  });
}

export function showWho(s: Session): void {
  $("who").textContent = "Signed in as " + s.sub;
  const out = $("sign-out");
  out.hidden = false;
  out.addEventListener("click", () => signOut(s.role));
}
