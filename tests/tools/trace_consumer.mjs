// A real consumer of Chrome's Trace Event Format: the trace engine of Chrome
// DevTools' Performance panel (npm @paulirish/trace_engine), as it loads a
// trace file.  Prints what it made of each thread, as JSON:
//   {"errors": [...what it complained of...],
//    "bounds": {"min": µs, "max": µs},
//    "threads": {"PID/TID": {"name": ..., "slices": [[name, dur µs, depth], ...]}}}
// Usage: node trace_consumer.mjs TRACE.json   (NODE_PATH: where the package is)
import {createRequire} from 'node:module';
import path from 'node:path';

const errors = [];
const origError = console.error;
console.error = (...args) => errors.push(args.join(' '));
console.warn = (...args) => errors.push(args.join(' '));

// The package is an ES module installed under NODE_PATH (build/node/node_modules).
const require = createRequire(path.join(process.env.NODE_PATH || '.', 'x.js'));
const main = require.resolve('@paulirish/trace_engine/analyze-trace.mjs');
const {analyzeTrace} = await import(main);

let parsed;
try {
  ({parsedTrace: parsed} = await analyzeTrace(process.argv[2]));
} catch (e) {
  origError(String(e && e.stack || e));
  process.exit(1);
}
const out = {errors, bounds: {min: parsed.data.Meta.traceBounds.min, max: parsed.data.Meta.traceBounds.max},
             threads: {}};
for (const [pid, proc] of parsed.data.Renderer.processes) {
  for (const [tid, thread] of proc.threads) {
    const slices = [];
    const walk = (node, depth) => {
      slices.push([node.entry.name, node.entry.dur ?? 0, depth]);
      for (const child of node.children) walk(child, depth + 1);
    };
    for (const root of thread.tree ? thread.tree.roots : []) walk(root, 0);
    out.threads[`${pid}/${tid}`] = {name: thread.name ?? null, slices};
  }
}
process.stdout.write(JSON.stringify(out));
