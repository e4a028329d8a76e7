import { api } from "../api";
import { $ } from "../ui";

void (async () => {
  try {
    const m = await api<{ methods: string[]; environment: string }>("/v1/sign-in");
    $("sign-in-state").textContent = m.methods.includes("development")
      ? "Development sign-in is on: the agent and auditor pages let you pick an id."
      : "Sign-in is not configured for this " + m.environment + " installation.";
  } catch {
    $("sign-in-state").textContent = "The engine cannot be reached.";
  }
})();
