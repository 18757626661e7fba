// The page modules as the browser gets them: each app's static/ folder and the project's
// static/ merged into one tree, laid out as /static/ serves them (what collectstatic does),
// so that an app module's "../js/lib/…" imports resolve. A copy: Node follows symlinks to
// the real path and would resolve imports from there.
import { cpSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const TREE = mkdtempSync(join(tmpdir(), "archviz-static-"));
process.on("exit", () => rmSync(TREE, { recursive: true, force: true }));

cpSync(join(ROOT, "static"), TREE, { recursive: true });
for (const app of readdirSync(join(ROOT, "archviz"))) {
  const own = join(ROOT, "archviz", app, "static");
  if (existsSync(own)) cpSync(own, TREE, { recursive: true });
}

/** Import the module served at /static/<path>, e.g. "archviz/queue/charts.js". */
export function importServed(path) {
  return import(pathToFileURL(join(TREE, path)).href);
}
