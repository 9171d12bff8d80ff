/**
 * Vite config of the web viewer. Build with `vite build web` from the repo root: the output
 * lands in web/dist, which the Express app serves at `/`. `vite web` starts a dev server that
 * proxies `/api` to a running service (API_URL, default http://127.0.0.1:3000).
 */
import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

const root = fileURLToPath(new URL(".", import.meta.url));

export default defineConfig({
  root,
  base: "/",
  // No public/ folder: everything the page needs is imported and bundled.
  publicDir: false,
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2022",
    // Source maps help when a screenshot shows something odd; they cost nothing at runtime.
    sourcemap: true,
    reportCompressedSize: false,
  },
  server: {
    proxy: { "/api": process.env.API_URL ?? "http://127.0.0.1:3000" },
  },
});
