/**
 * `npm run generate`: rewrites everything derived from the route definitions — client/schema.ts
 * (typed client), the endpoint reference in docs/api.md, the parameter tables in README.md.
 * Run it after changing a route or a schema, and commit the result (a test checks it is current).
 */
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { generatedFiles, ROOT } from "./contract-docs.ts";

for (const { file, content } of await generatedFiles()) {
  const target = path.join(ROOT, file);
  const before = await readFile(target, "utf8").catch(() => "");
  if (before === content) continue;
  await writeFile(target, content);
  console.log(`wrote ${file}`);
}
