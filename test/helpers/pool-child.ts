/**
 * A trivial pool child for test/pool.test.ts: `{sleep: ms}` answers after ms, `{crash: true}`
 * aborts, `{alloc: mb}` holds that much memory for 5 s, `{hold: mb}` keeps it and answers,
 * `{echo: x}` answers x, `{panic: true}` prints a Rust-like panic after a step marker and aborts,
 * `{fullDisk: true}` fails as a full disk does.
 */
import { serve, step } from "../../src/sandbox/child.ts";

const held: Buffer[] = [];
serve(
  async (message) => {
    const m = message as { sleep?: number; crash?: boolean; alloc?: number; hold?: number; echo?: unknown; panic?: boolean; pid?: boolean; fullDisk?: boolean };
    if (m.hold) for (let i = 0; i < m.hold; i++) held.push(Buffer.alloc(1024 * 1024, 1));
    if (m.fullDisk) throw Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" });
    if (m.crash) process.abort();
    if (m.panic) {
      step("render CSV");
      process.stderr.write("thread '<unnamed>' panicked at src/x.rs:1:1:\nout-of-range date\n");
      process.abort();
    }
    if (m.alloc) {
      for (let i = 0; i < m.alloc; i++) held.push(Buffer.alloc(1024 * 1024, 1));
      await new Promise((r) => setTimeout(r, 5000));
    }
    if (m.sleep) await new Promise((r) => setTimeout(r, m.sleep));
    return m.pid ? process.pid : (m.echo ?? null);
  },
  (err) => ({ ok: false, status: 422, code: "UNPARSEABLE_FILE", detail: String(err) }),
);
