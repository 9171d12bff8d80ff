/**
 * Per-stage timings of an upload (docs/performance.md "Where an upload's time goes"): receive,
 * hash, decode, prescan, parse, infer, proof, write, checksum (in the parser child), handoff
 * (queue wait and IPC), store and stats (in the API process). They go into the upload's request
 * log line, the `ingest_stage_seconds{stage}` histogram and the `Server-Timing` response header.
 *
 * A parser child runs one job at a time, so ingest code records into one ambient `Stages` that
 * the child starts per job (`beginStages`); outside a job (tests, scripts) `timed` just runs.
 * Stages that run concurrently (hashing beside parsing) each keep their own wall time.
 */

/** Milliseconds per stage, in the order the stages first ran. */
export type StageTimes = Record<string, number>;

export class Stages {
  readonly times: StageTimes = Object.create(null) as StageTimes;
  /**
   * CPU time of the whole process (every thread, Polars' pool included) during each stage run
   * through `time`: per stage only where one job runs at a time (a parser child, scripts). Less
   * sensitive to other load on the machine than the wall times (scripts/time-ingest.ts prints it).
   */
  readonly cpu: StageTimes = Object.create(null) as StageTimes;

  add(stage: string, ms: number, cpuMs?: number): void {
    this.times[stage] = (this.times[stage] ?? 0) + ms;
    if (cpuMs !== undefined) this.cpu[stage] = (this.cpu[stage] ?? 0) + cpuMs;
  }

  /** Runs `fn`, adding its wall time to `stage` whether it succeeds or throws. */
  async time<T>(stage: string, fn: () => Promise<T> | T): Promise<T> {
    const t = performance.now();
    const cpu = process.cpuUsage();
    try {
      return await fn();
    } finally {
      this.add(stage, performance.now() - t, cpuSince(cpu));
    }
  }

  merge(other: StageTimes | undefined): void {
    for (const [stage, ms] of Object.entries(other ?? {})) if (Number.isFinite(ms)) this.add(stage, ms);
  }
}

/** Milliseconds of CPU time (every thread of this process) since `start` (`process.cpuUsage()`). */
export function cpuSince(start: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000;
}

let ambient: Stages | null = null;

/** Starts recording a job's stages in this process (a parser child, one job at a time). */
export function beginStages(): Stages {
  ambient = new Stages();
  return ambient;
}

/** Runs `fn` as `stage` of the current job, if one is being recorded. */
export function timed<T>(stage: string, fn: () => Promise<T> | T): Promise<T> {
  return ambient ? ambient.time(stage, fn) : Promise.resolve().then(fn);
}

/** Adds `ms` (and `cpuMs` of CPU time) to `stage` of the current job, if one is being recorded. */
export function addStage(stage: string, ms: number, cpuMs?: number): void {
  ambient?.add(stage, ms, cpuMs);
}

/** `Server-Timing` header value (RFC: `name;dur=ms`, comma-separated). */
export function serverTiming(times: StageTimes): string {
  return Object.entries(times)
    .map(([stage, ms]) => `${stage};dur=${ms.toFixed(1)}`)
    .join(", ");
}

/** Rounded to 0.1 ms for logs. */
export function roundedTimes(times: StageTimes): StageTimes {
  const out = Object.create(null) as StageTimes;
  for (const [stage, ms] of Object.entries(times)) out[stage] = Math.round(ms * 10) / 10;
  return out;
}
