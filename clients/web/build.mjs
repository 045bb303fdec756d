// Builds the browser client bundle static/app.js from src/ with esbuild.
//   node build.mjs          write static/app.js
//   node build.mjs --check  fail if static/app.js or src/gen are stale
import { build } from "esbuild";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, "static", "app.js");
const check = process.argv.includes("--check");

const banner = "// Holocast browser client. Generated from clients/web/src by `make web`; do not edit.";
const result = await build({
  absWorkingDir: here,
  entryPoints: ["src/main.ts"],
  bundle: true,
  format: "iife",
  target: ["es2020"],
  minify: true,
  legalComments: "none",
  charset: "utf8",
  banner: { js: banner },
  write: false,
  logLevel: "warning",
});
const js = result.outputFiles[0].text;

if (!check) {
  writeFileSync(out, js);
  console.log(`wrote static/app.js (${js.length} bytes)`);
} else {
  let bad = 0;
  const cur = readFileSync(out, "utf8");
  if (cur !== js) {
    console.error("static/app.js is not the bundle of src/: run `make web` and commit it");
    bad++;
  }
  // Generated protobuf code must match proto/holocast.proto.
  const tmp = mkdtempSync(join(tmpdir(), "holocast-gen-"));
  try {
    execFileSync("protoc", [
      `--plugin=protoc-gen-es=${join(here, "node_modules", ".bin", "protoc-gen-es")}`,
      `-I${join(here, "..", "..", "proto")}`, `--es_out=${tmp}`, "--es_opt=target=ts",
      join(here, "..", "..", "proto", "holocast.proto"),
    ]);
    const a = readFileSync(join(tmp, "holocast_pb.ts"), "utf8");
    const b = readFileSync(join(here, "src", "gen", "holocast_pb.ts"), "utf8");
    if (a !== b) {
      console.error("src/gen/holocast_pb.ts differs from proto/holocast.proto: run `make web` and commit it");
      bad++;
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  if (bad) process.exit(1);
  console.log("bundle and generated code are current");
}
