// Adds lock-file entries for optional, platform-specific binaries that the registry this project
// installs from does not serve (e.g. nodejs-polars-darwin-arm64). `npm install` silently leaves them
// out of package-lock.json, after which `npm ci` refuses the lock file as out of sync. The stubs
// carry only os/cpu/libc, so npm skips them on every other platform, exactly as it would skip the
// real packages. Run after `npm install` changes the lock file: node scripts/lock-platform-stubs.mjs
import { readFileSync, writeFileSync } from "node:fs";

const lock = JSON.parse(readFileSync("package-lock.json", "utf8"));
const packages = lock.packages;
const OS = ["darwin", "linux", "win32", "android", "freebsd"];
const CPU = ["arm64", "x64", "ia32", "arm"];
let added = 0;
for (const [where, pkg] of Object.entries(packages)) {
  for (const [name, version] of Object.entries(pkg.optionalDependencies ?? {})) {
    const key = `node_modules/${name}`;
    if (packages[key] || packages[`${where}/${key}`]) continue;
    const parts = name.split("/").pop().split("-");
    const os = parts.find((p) => OS.includes(p));
    const cpu = parts.find((p) => CPU.includes(p));
    if (!os || !cpu) throw new Error(`cannot tell the platform of ${name}`);
    const stub = { version, cpu: [cpu], optional: true, os: [os] };
    if (os === "linux") stub.libc = [parts.includes("musl") ? "musl" : "glibc"];
    packages[key] = stub;
    added++;
  }
}
lock.packages = Object.fromEntries(Object.entries(packages).sort(([a], [b]) => (a === "" ? -1 : b === "" ? 1 : a < b ? -1 : a > b ? 1 : 0)));
writeFileSync("package-lock.json", `${JSON.stringify(lock, null, 2)}\n`);
console.log(`added ${added} platform stub(s)`);
