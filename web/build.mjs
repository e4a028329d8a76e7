// Builds the pages into dist/ (or the folder after --out): the TypeScript
// entry points bundled by esbuild (pinned by package-lock.json), the HTML
// pages with their includes filled in (below), and the stylesheet copied as
// it is. The output is deterministic,
// so scripts/web.sh can check that the committed dist/ is what the sources
// give. --tests bundles test/*.test.ts for node's test runner instead.
import * as esbuild from "esbuild";
import { cpSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const args = process.argv.slice(2);
const outIdx = args.indexOf("--out");
const out = outIdx >= 0 ? args[outIdx + 1] : "dist";

if (args.includes("--tests")) {
  rmSync(".test-build", { recursive: true, force: true });
  const tests = readdirSync("test").filter((f) => f.endsWith(".test.ts")).map((f) => join("test", f));
  await esbuild.build({
    entryPoints: tests, bundle: true, platform: "node", format: "esm", target: "node20",
    outdir: ".test-build", outExtension: { ".js": ".mjs" }, logLevel: "warning",
  });
} else {
  rmSync(out, { recursive: true, force: true });
  mkdirSync(join(out, "assets"), { recursive: true });
  await esbuild.build({
    entryPoints: ["src/pages/index.ts", "src/pages/join.ts", "src/pages/agent.ts", "src/pages/audit.ts"],
    bundle: true, splitting: true, format: "esm", target: "es2020", minify: true,
    outdir: join(out, "assets"), entryNames: "[name]", chunkNames: "chunks/[name]-[hash]",
    legalComments: "none", charset: "utf8", logLevel: "warning",
  });
  for (const f of readdirSync("static")) {
    if (f.startsWith("_")) continue; // a part of pages, not a page
    if (f.endsWith(".html")) writeFileSync(join(out, f), withIncludes(f));
    else cpSync(join("static", f), join(out, f.endsWith(".css") ? join("assets", f) : f));
  }
}

// withIncludes is the page f with each line <!--#include _part.html k="v" ...-->
// replaced by static/_part.html, its {{k}} filled in: the pages that share
// a head and a sign-in screen (the agent console, the auditor review) keep
// them in one file. Hand-written because it is a dozen lines; a template
// engine would be a dependency for this alone.
function withIncludes(f) {
  return readFileSync(join("static", f), "utf8").replace(/^<!--#include (_[\w.-]+)((?: \w+="[^"]*")*) -->\n/gm, (_, part, attrs) => {
    const values = Object.fromEntries([...attrs.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    return readFileSync(join("static", part), "utf8").replace(/{{(\w+)}}/g, (m, k) => {
      if (!(k in values)) throw new Error(`${f}: the include of ${part} gives no ${k}`);
      return values[k];
    });
  });
}
