// Small DOM helpers shared by the pages.

export function $<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error("missing element #" + id);
  return el as T;
}

// show makes one screen visible and hides the others, then moves focus to
// its heading so that keyboard and screen-reader users follow the page.
export function show(screenId: string): void {
  for (const s of Array.from(document.querySelectorAll<HTMLElement>("section.screen"))) {
    s.hidden = s.id !== screenId;
  }
  const heading = document.querySelector<HTMLElement>("#" + screenId + " h2");
  if (heading) {
    heading.tabIndex = -1;
    heading.focus({ preventScroll: false });
  }
}

export function notice(text: string): void {
  const n = document.getElementById("notice");
  if (!n) return;
  n.textContent = text;
  n.hidden = text === "";
}

export function el<K extends keyof HTMLElementTagNameMap>(tag: K, props: Partial<Record<string, string>> = {}, ...children: (Node | string)[]): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (v === undefined) continue;
    if (k === "text") e.textContent = v;
    else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c);
  return e;
}

export function setQuality(el: HTMLElement, level: number): void {
  el.dataset.level = String(level);
  const words = ["unknown", "very poor", "poor", "fair", "good", "excellent"];
  el.setAttribute("aria-label", "Network quality: " + (words[level] ?? "unknown"));
}

export function formatTime(iso: string): string {
  const d = new Date(iso);
  return isNaN(d.getTime()) ? iso : d.toLocaleString();
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
