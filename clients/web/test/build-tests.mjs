// Bundles the TypeScript unit tests for node's test runner: test/unit/*.test.ts
// → .test-out/*.test.mjs.
import { build } from "esbuild";
import { readdirSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const outdir = join(root, ".test-out");
rmSync(outdir, { recursive: true, force: true });
const entries = readdirSync(join(root, "test", "unit")).filter((f) => f.endsWith(".test.ts")).map((f) => join("test", "unit", f));
await build({
  absWorkingDir: root, entryPoints: entries, outdir, bundle: true, platform: "node", format: "esm",
  target: "node20", outExtension: { ".js": ".mjs" }, external: ["node:*"], logLevel: "warning",
});
