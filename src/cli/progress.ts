/**
 * Progress bars for the CLI (cli-progress on stderr): bytes sent or received against a total when
 * one is known, a running byte count otherwise. Shown when stderr is a terminal, or when asked for
 * (`--progress`, e.g. in a log); the data itself never goes to stderr.
 */
import cliProgress from "cli-progress";

export interface Progress {
  /** Adds `n` bytes to the count. */
  add(n: number): void;
  /** Ends the bar at its final value (a line is printed, so the next output starts clean). */
  done(): void;
}

function bytes(n: number): string {
  const units = ["B", "KB", "MB", "GB", "TB"];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}

const silent: Progress = { add() {}, done() {} };

/** A bar labelled `label`; `total` 0 means unknown (a count without a percentage). */
export function progressBar(label: string, total: number, enabled: boolean): Progress {
  if (!enabled) return silent;
  const known = total > 0;
  const bar = new cliProgress.SingleBar(
    {
      format: known ? `${label} [{bar}] {percentage}% {sent} of {size}` : `${label} {sent}`,
      barsize: 30,
      hideCursor: process.stderr.isTTY === true,
      noTTYOutput: true, // asked for without a terminal: print plain lines instead of redrawing
      notTTYSchedule: 1000,
      stream: process.stderr,
      formatValue: (v) => String(v),
    },
    cliProgress.Presets.shades_classic,
  );
  let value = 0;
  bar.start(known ? total : 1, 0, { sent: bytes(0), size: bytes(total) });
  return {
    add(n) {
      value += n;
      // Multipart framing adds a little to the file's size: the bar stops at 100%.
      bar.update(known ? Math.min(value, total) : 0, { sent: bytes(known ? Math.min(value, total) : value) });
    },
    done() {
      bar.update(known ? total : 1, { sent: bytes(known ? total : value) });
      bar.stop();
    },
  };
}

/** A pass-through stream that reports each chunk's size to `progress`. */
export function counting(progress: Progress): TransformStream<Uint8Array, Uint8Array> {
  return new TransformStream({
    transform(chunk, controller) {
      progress.add(chunk.byteLength);
      controller.enqueue(chunk);
    },
  });
}
