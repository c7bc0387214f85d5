'use strict';
/* Preloaded (with an IPC channel) into the servers bench:sockets and bench:soak measure; plain JavaScript, as
 * the gateway runs from dist/. On request: two full collections through Node's in-process inspector session
 * (which, unlike gc(), also return freed memory to the system) then memory usage, the event-loop delay since
 * the previous reading and the active handles and requests by type; or a heap snapshot through Node's API. */
const { Session } = require('node:inspector');
const { monitorEventLoopDelay } = require('node:perf_hooks');
const { writeHeapSnapshot } = require('node:v8');

// 1 ms: a delay is recorded as the time between two samples, so each value includes the resolution; at the
// default 10 ms an idle loop would read as 10 ms of delay.
const RESOLUTION_MS = 1;
const loopDelay = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
loopDelay.enable();
const ms = (nanoseconds) => nanoseconds / 1e6;

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
  const activeResources = {};
  for (const type of process.getActiveResourcesInfo())
    activeResources[type] = (activeResources[type] || 0) + 1;
  const session = new Session();
  session.connect();
  session.post('HeapProfiler.collectGarbage');
  // Disconnecting inside the callback of a post never returns: hence the setTimeout, a pause for what the
  // collections freed to be returned to the system before RSS is read.
  session.post('HeapProfiler.collectGarbage', () =>
    setTimeout(() => {
      session.disconnect();
      loopDelay.reset();
      process.send({ type: 'memory', usage: process.memoryUsage(), eventLoopDelay, activeResources });
    }, 500),
  );
});
