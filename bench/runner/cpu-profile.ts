/** A short self-time summary of a `node --cpu-prof` profile, over chosen stretches of it only. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fixed } from './figures';

/** The parts of a V8 .cpuprofile that a self-time summary needs. */
interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** A stretch of CLOCK_MONOTONIC time in microseconds, the clock V8 stamps profile samples with. */
export interface Window {
  startUs: number;
  endUs: number;
}

/** Now on the clock of profile samples (process.hrtime and V8's TimeTicks both read CLOCK_MONOTONIC). */
export const monotonicUs = (): number => Number(process.hrtime.bigint() / 1000n);

/** The one profile `node --cpu-prof --cpu-prof-dir=<directory>` wrote. */
export function profileFile(directory: string): string {
  const file = readdirSync(directory).find((name) => name.endsWith('.cpuprofile'));
  if (!file) throw new Error(`No .cpuprofile in ${directory}: did the process exit cleanly?`);
  return join(directory, file);
}

/** Where a frame's code lives: an npm package, Node itself, the gateway, the bench, or a V8 pseudo-frame. */
function areaOf(url: string, functionName: string): string {
  if (url === '') return functionName.startsWith('(') ? functionName : '(native)';
  if (url.startsWith('node:')) return 'node internals';
  const modules = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (modules?.[1]) return modules[1];
  const folder = /\/(dist|bench|src)\//.exec(url)?.[1];
  return folder === 'bench' ? 'bench code' : folder ? `gateway code (${folder}/)` : url;
}

const shortUrl = (url: string): string =>
  url.replace(/^.*node_modules\//, '').replace(/^(file:\/\/)?.*?\/(dist|src|bench)\//, '$2/');

/**
 * Prints self time by area and by function (the top 20 each), as shares of the busy (non-idle) samples
 * taken inside `windows`: start-up, set-up and shutdown are left out.
 */
export function printProfileSummary(heading: string, file: string, windows: readonly Window[]): void {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const frames = new Map(profile.nodes.map((node) => [node.id, node.callFrame]));
  const byFunction = new Map<string, number>();
  const byArea = new Map<string, number>();
  let busy = 0;
  let busyUs = 0;
  let at = profile.startTime;
  for (const [index, id] of profile.samples.entries()) {
    const delta = profile.timeDeltas[index] ?? 0;
    at += delta;
    const frame = frames.get(id);
    if (!frame || frame.functionName === '(idle)') continue;
    if (!windows.some((window) => at >= window.startUs && at <= window.endUs)) continue;
    busy += 1;
    busyUs += delta;
    const name = `${frame.functionName || '(anonymous)'}  ${shortUrl(frame.url)}${frame.url ? `:${frame.lineNumber + 1}` : ''}`;
    byFunction.set(name, (byFunction.get(name) ?? 0) + 1);
    const area = areaOf(frame.url, frame.functionName);
    byArea.set(area, (byArea.get(area) ?? 0) + 1);
  }
  console.log(`\n${heading} (${fixed(busyUs / 1e6, 2)} s busy)`);
  for (const [title, counts] of Object.entries({ 'by area': byArea, 'by function': byFunction })) {
    console.log(`  ${title}:`);
    for (const [name, samples] of [...counts].sort((a, b) => b[1] - a[1]).slice(0, 20))
      console.log(`    ${fixed((samples / Math.max(busy, 1)) * 100, 1).padStart(5)}%  ${name}`);
  }
}
