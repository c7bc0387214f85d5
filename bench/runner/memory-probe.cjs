'use strict';
/* Preloaded (with an IPC channel) into the servers bench:sockets and bench:soak measure; plain JavaScript, as
 * the gateway runs from dist/. On request: two full collections through Node's in-process inspector session
 * (which, unlike gc(), also return freed memory to the system) then memory usage, the event-loop delay since
 * the previous reading, its garbage-collection pauses and stalls, and the active handles and requests by type;
 * or a heap snapshot through Node's API. */
const { Session } = require('node:inspector');
const { monitorEventLoopDelay, PerformanceObserver } = require('node:perf_hooks');
const { writeHeapSnapshot } = require('node:v8');

// 1 ms: a delay is recorded as the time between two samples, so each value includes the resolution; at the
// default 10 ms an idle loop would read as 10 ms of delay.
const RESOLUTION_MS = 1;
const loopDelay = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
loopDelay.enable();
const ms = (nanoseconds) => nanoseconds / 1e6;

// Garbage-collection pauses since the previous reading: their count, total and longest.
let gc = { count: 0, totalMs: 0, maxMs: 0 };
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    gc.count += 1;
    gc.totalMs += entry.duration;
    gc.maxMs = Math.max(gc.maxMs, entry.duration);
  }
}).observe({ entryTypes: ['gc'] });

// Stalls since the previous reading: a tick of this timer later than STALL_MS, with the process's own CPU
// time over the gap. Near the gap: the process was busy (its own code or collections); near zero: it was
// not scheduled (the machine was busy), which tells a gateway's stall from a shared machine's.
const TICK_MS = 50;
const STALL_MS = 250;
const noStalls = () => ({ count: 0, totalMs: 0, longest: [] });
let stalls = noStalls();
let lastTick = { at: performance.now(), cpu: process.cpuUsage() };
setInterval(() => {
  const tick = { at: performance.now(), cpu: process.cpuUsage() };
  const gapMs = tick.at - lastTick.at;
  if (gapMs > STALL_MS) {
    const { user, system } = process.cpuUsage(lastTick.cpu);
    stalls.count += 1;
    stalls.totalMs += gapMs;
    // The longest few, with when they ended.
    stalls.longest.push({ at: new Date().toISOString(), gapMs, cpuMs: (user + system) / 1000 });
    stalls.longest = stalls.longest.sort((a, b) => b.gapMs - a.gapMs).slice(0, 3);
  }
  lastTick = { at: performance.now(), cpu: process.cpuUsage() };
}, TICK_MS).unref();

process.on('message', (request) => {
  if (request.type === 'heap-snapshot') {
    process.send({ type: 'heap-snapshot', file: writeHeapSnapshot(request.file) });
    return;
  }
  // Read before the collections below, and reset after them: their pause belongs to no one's minute.
  const eventLoopDelay = {
    resolutionMs: RESOLUTION_MS,
    p50Ms: ms(loopDelay.percentile(50)),
    p99Ms: ms(loopDelay.percentile(99)),
    maxMs: ms(loopDelay.max),
  };
  // Copies: the collections below stall the loop too, and that stall is no one's minute.
  const sinceLastReading = { gc: { ...gc }, stalls: { ...stalls, longest: [...stalls.longest] } };
  const activeResources = {};
  for (const type of process.getActiveResourcesInfo())
    activeResources[type] = (activeResources[type] || 0) + 1;
  const collectStarted = { at: performance.now(), cpu: process.cpuUsage() };
  const session = new Session();
  session.connect();
  session.post('HeapProfiler.collectGarbage');
  // Disconnecting inside the callback of a post never returns: hence the setTimeout, a pause for what the
  // collections freed to be returned to the system before RSS is read.
  session.post('HeapProfiler.collectGarbage', () => {
    // What the reading itself cost the process: on a large heap, seconds.
    const { user, system } = process.cpuUsage(collectStarted.cpu);
    const collections = { ms: performance.now() - collectStarted.at, cpuMs: (user + system) / 1000 };
    setTimeout(() => {
      session.disconnect();
      loopDelay.reset();
      gc = { count: 0, totalMs: 0, maxMs: 0 };
      stalls = noStalls();
      const usage = process.memoryUsage();
      const reply = { usage, eventLoopDelay, activeResources, collections, ...sinceLastReading };
      process.send({ type: 'memory', ...reply });
    }, 500);
  });
});
