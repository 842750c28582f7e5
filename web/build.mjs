// Builds the dashboard into one folder cadre-ingress serves (--web-root):
//   index.html          names this build's assets
//   assets/app-HASH.js  every script, bundled and minified (no inline script: CSP)
//   assets/app-HASH.css
//   assets/favicon.svg
// Usage: node build.mjs [OUT_DIR]   (default: ../build/share/cadre/web)
import * as esbuild from "esbuild";
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const out = resolve(process.argv[2] ?? join(here, "..", "build", "share", "cadre", "web"));

rmSync(join(out, "assets"), { recursive: true, force: true });
mkdirSync(join(out, "assets"), { recursive: true });
const result = await esbuild.build({
  entryPoints: { app: join(here, "src", "main.ts") },
  bundle: true,
  minify: true,
  sourcemap: false,
  format: "iife",
  target: ["es2020"],
  outdir: join(out, "assets"),
  entryNames: "[name]-[hash]",
  metafile: true,
  legalComments: "linked",
  logLevel: "warning",
});
const outputs = Object.keys(result.metafile.outputs).map((p) => p.split("/").pop());
const script = outputs.find((name) => name.endsWith(".js"));
const style = outputs.find((name) => name.endsWith(".css"));
const page = readFileSync(join(here, "src", "index.html"), "utf8")
  .replace("%SCRIPT%", `/assets/${script}`)
  .replace("%STYLE%", `/assets/${style}`);
writeFileSync(join(out, "index.html"), page);
copyFileSync(join(here, "src", "favicon.svg"), join(out, "assets", "favicon.svg"));
console.log(`dashboard: ${out} (${outputs.join(", ")})`);
