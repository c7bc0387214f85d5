'use strict';
/*
 * Preloaded into the servers bench:sockets measures (`node --expose-gc -r bench/runner/memory-probe.cjs`,
 * with an IPC channel), both alike: on the runner's request, two full collections and then the process's
 * memory usage, so that what is read is what the process holds on to; or a heap snapshot, through Node's
 * own API. Plain JavaScript: the gateway runs from dist/ without ts-node.
 */
const { writeHeapSnapshot } = require('node:v8');

process.on('message', (request) => {
  if (request.type === 'memory') {
    global.gc();
    global.gc();
    // A pause for what the collections freed to be returned to the system before RSS is read.
    setTimeout(() => process.send({ type: 'memory', usage: process.memoryUsage() }), 500);
  } else if (request.type === 'heap-snapshot') {
    process.send({ type: 'heap-snapshot', file: writeHeapSnapshot(request.file) });
  }
});
