// Builds the pages into dist/ (or the folder after --out): the TypeScript
// entry points bundled by esbuild (pinned by package-lock.json), the HTML
// pages and the stylesheet copied as they are. The output is deterministic,
// so scripts/web.sh can check that the committed dist/ is what the sources
// give. --tests bundles test/*.test.ts for node's test runner instead.
import * as esbuild from "esbuild";
import { cpSync, mkdirSync, readdirSync, rmSync } from "node:fs";
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
    cpSync(join("static", f), join(out, f.endsWith(".css") ? join("assets", f) : f));
  }
}
