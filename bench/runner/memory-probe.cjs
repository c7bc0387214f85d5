'use strict';
/* Preloaded (with an IPC channel) into the servers bench:sockets measures; plain JavaScript, as the gateway
 * runs from dist/. On request: two full collections through Node's in-process inspector session (which, unlike
 * gc(), also return freed memory to the system) then memory usage, or a heap snapshot through Node's API. */
const { Session } = require('node:inspector');
const { writeHeapSnapshot } = require('node:v8');

process.on('message', (request) => {
  if (request.type === 'heap-snapshot') {
    process.send({ type: 'heap-snapshot', file: writeHeapSnapshot(request.file) });
    return;
  }
  const session = new Session();
  session.connect();
  session.post('HeapProfiler.collectGarbage');
  // Disconnecting inside the callback of a post never returns: hence the setTimeout, a pause for what the
  // collections freed to be returned to the system before RSS is read.
  session.post('HeapProfiler.collectGarbage', () =>
    setTimeout(() => {
      session.disconnect();
      process.send({ type: 'memory', usage: process.memoryUsage() });
    }, 500),
  );
});
