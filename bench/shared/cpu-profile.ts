import { readdirSync, readFileSync } from 'node:fs';
import { join, sep } from 'node:path';
import { fixed } from './figures';

/** The parts of a V8 .cpuprofile (what `node --cpu-prof` writes) that a self-time summary needs. */
interface CpuProfile {
  nodes: {
    id: number;
    callFrame: { functionName: string; url: string; lineNumber: number };
  }[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** A stretch of CLOCK_MONOTONIC time in microseconds, the clock V8 stamps profile samples with. */
export interface Window {
  startUs: number;
  endUs: number;
}

/** Now on the clock of profile samples (process.hrtime and V8's TimeTicks both read CLOCK_MONOTONIC). */
export function monotonicUs(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

export interface SelfTime {
  name: string;
  ms: number;
  /** Share of the busy (non-idle) time. */
  share: number;
}

export interface ProfileSummary {
  busyMs: number;
  functions: SelfTime[];
  areas: SelfTime[];
}

/** Where a frame's code lives: the npm package, Node itself, the gateway's own build, or a V8 pseudo-frame. */
function areaOf(url: string, functionName: string): string {
  if (url === '') return functionName.startsWith('(') ? functionName : '(native)';
  if (url.startsWith('node:')) return 'node internals';
  const modules = url.lastIndexOf(`node_modules${sep}`);
  if (modules >= 0) {
    const parts = url.slice(modules + 'node_modules'.length + 1).split(sep);
    return parts[0]?.startsWith('@') ? `${parts[0]}/${parts[1] ?? ''}` : (parts[0] ?? url);
  }
  const dist = url.indexOf(`${sep}dist${sep}`);
  if (dist >= 0) return 'gateway code (dist/)';
  const bench = url.indexOf(`${sep}bench${sep}`);
  if (bench >= 0) return 'bench code';
  const src = url.indexOf(`${sep}src${sep}`);
  return src >= 0 ? 'gateway code (src/)' : url;
}

/** A script URL from a profile or heap snapshot, shortened to the package or repository path. */
export function shortUrl(url: string): string {
  const modules = url.lastIndexOf('node_modules/');
  if (modules >= 0) return url.slice(modules + 'node_modules/'.length);
  for (const marker of ['/dist/', '/src/', '/bench/']) {
    const index = url.indexOf(marker);
    if (index >= 0) return url.slice(index + 1);
  }
  return url.replace(/^file:\/\//, '');
}

function top(
  counts: Map<string, number>,
  msPerSample: number,
  busySamples: number,
  limit: number,
): SelfTime[] {
  return [...counts.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, limit)
    .map(([name, samples]) => ({ name, ms: samples * msPerSample, share: samples / busySamples }));
}

/** The one profile `node --cpu-prof --cpu-prof-dir=<directory>` wrote. */
export function profileFile(directory: string): string {
  const file = readdirSync(directory).find((name) => name.endsWith('.cpuprofile'));
  if (!file) throw new Error(`No .cpuprofile in ${directory}: did the process exit cleanly?`);
  return join(directory, file);
}

/**
 * Self time by function and by area, idle time left out, of the samples taken inside `windows` (the
 * measured rounds: start-up, set-up and shutdown are left out).
 */
export function summariseProfile(file: string, windows: readonly Window[], limit = 25): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const frames = new Map(profile.nodes.map((node) => [node.id, node.callFrame]));
  const msPerSample = (profile.endTime - profile.startTime) / 1000 / Math.max(profile.samples.length, 1);
  const byFunction = new Map<string, number>();
  const byArea = new Map<string, number>();
  let busySamples = 0;
  let at = profile.startTime;
  for (const [index, id] of profile.samples.entries()) {
    at += profile.timeDeltas[index] ?? 0;
    if (!windows.some((window) => at >= window.startUs && at <= window.endUs)) continue;
    const frame = frames.get(id);
    if (!frame || frame.functionName === '(idle)') continue;
    busySamples += 1;
    const name = `${frame.functionName || '(anonymous)'}  ${shortUrl(frame.url)}${frame.url ? `:${frame.lineNumber + 1}` : ''}`;
    byFunction.set(name, (byFunction.get(name) ?? 0) + 1);
    const area = areaOf(frame.url.replace(/^file:\/\//, ''), frame.functionName);
    byArea.set(area, (byArea.get(area) ?? 0) + 1);
  }
  const busy = Math.max(busySamples, 1);
  return {
    busyMs: busySamples * msPerSample,
    functions: top(byFunction, msPerSample, busy, limit),
    areas: top(byArea, msPerSample, busy, limit),
  };
}

/** Prints a summary under `heading`: the top areas, then the top functions, by share of busy time. */
export function printProfileSummary(heading: string, summary: ProfileSummary): void {
  console.log('');
  console.log(heading);
  console.log('  by area:');
  for (const area of summary.areas.slice(0, 12)) {
    console.log(`    ${fixed(area.share * 100, 1).padStart(5)}%  ${area.name}`);
  }
  console.log('  by function:');
  for (const fn of summary.functions) {
    console.log(`    ${fixed(fn.share * 100, 1).padStart(5)}%  ${fn.name}`);
  }
}
