// The trace viewer of Debian's Chromium, headless: the Performance panel of the
// DevTools bundled in the browser (devtools://devtools/bundled/), given the trace
// through its own "Load profile" file input, as a user loads one.  (Debian builds
// Chromium without catapult, so chrome://tracing has no viewer there.)
// Prints what the panel shows, as JSON:
//   {"chromium": "156.0...",
//    "errors": [...what the page complained of while loading...],
//    "loaded": true when the panel has the trace,
//    "warnings": [...the kinds of warning the panel's model flagged on events...],
//    "tracks": [{"name": "spinner (1234)", "nesting": 1,
//                "slices": [[name, dur µs, depth], ...]}, ...]}
// Usage: node trace_viewer.mjs TRACE.json
//   NODE_PATH: where playwright-core is (build/node/node_modules);
//   CHROMIUM: the browser (default /usr/bin/chromium).
// Exit 77 when the browser cannot start at all (the caller skips, saying why),
// 1 on any other failure, 0 with the JSON above otherwise.
import {createRequire} from 'node:module';
import path from 'node:path';

const require = createRequire(path.join(process.env.NODE_PATH || '.', 'x.js'));
const {chromium} = require('playwright-core');
const trace = process.argv[2];
if (!trace) {
  console.error('usage: node trace_viewer.mjs TRACE.json');
  process.exit(2);
}

let browser;
try {
  // Chromium will not run as root, as the tests do, with its sandbox on.
  browser = await chromium.launch({executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
                                   args: ['--no-sandbox'], timeout: 30000});
} catch (e) {
  // Playwright's message, then what the browser itself said on stderr, if anything.
  const lines = String(e.message || e).replace(/\x1b\[[0-9;]*m/g, '').split('\n');
  const said = [...new Set(lines.filter(l => l.includes('[err]')).map(l => l.replace(/^[\s-]*/, '')))];
  console.error(`chromium did not start: ${[lines[0], ...said].join('; ')}`);
  process.exit(77);
}

try {
  const page = await browser.newPage({viewport: {width: 1600, height: 1000}});
  const errors = [];
  let loading = false;
  // Before the load the page only says it has no browser to debug: not about the trace.
  page.on('console', m => {
    if (loading && (m.type() === 'error' || m.type() === 'warning')) errors.push(m.text());
  });
  page.on('pageerror', e => {
    if (loading) errors.push(String(e.stack || e));
  });
  await page.goto('devtools://devtools/bundled/trace_app.html');
  await page.getByText('Performance', {exact: true}).first().waitFor({timeout: 20000});
  await page.evaluate(async () => {
    const UI = await import('./ui/legacy/legacy.js');
    await UI.ViewManager.ViewManager.instance().showView('timeline');
  });
  loading = true;
  await page.locator('input[type=file]').first().setInputFiles(trace);

  // Loaded when the panel has a trace and its flame chart has tracks; a failed load
  // leaves it without one, with the complaint in errors.
  const shown = () => page.evaluate(async () => {
    const T = await import('./panels/timeline/timeline.js');
    const panel = T.TimelinePanel.TimelinePanel.instance();
    const data = panel.hasActiveTrace() && panel.getFlameChart().getMainDataProvider().timelineData();
    return Boolean(data && data.groups.length);
  });
  const deadline = Date.now() + 20000;
  let loaded = false;
  while (!(loaded = await shown()) && !errors.length && Date.now() < deadline)
    await page.waitForTimeout(100);

  const shows = !loaded ? {tracks: [], warnings: []} : await page.evaluate(async () => {
    const T = await import('./panels/timeline/timeline.js');
    const panel = T.TimelinePanel.TimelinePanel.instance();
    // The warnings the panel's model flags on events (its Warnings handler).
    const model = panel.model;
    const parsed = model.parsedTrace(model.lastTraceIndex());
    const warnings = [...parsed.data.Warnings.perWarning.keys()];
    const dp = panel.getFlameChart().getMainDataProvider();
    const data = dp.timelineData();
    // A track's rows run from its startLevel to the next track's; a process's header
    // shares its first thread's startLevel, and the thread (later) owns the rows.
    const tracks = data.groups.map(g => ({name: g.name, nesting: g.style.nestingLevel,
                                          start: g.startLevel, slices: []}));
    for (let i = 0; i < data.entryLevels.length; i++) {
      const level = data.entryLevels[i];
      const t = tracks.findLast(t => t.start <= level);
      if (t)
        t.slices.push([dp.entryTitle(i), Math.round(data.entryTotalTimes[i] * 1000), level - t.start]);
    }
    return {tracks: tracks.map(({name, nesting, slices}) => ({name, nesting, slices})), warnings};
  });
  process.stdout.write(JSON.stringify({chromium: browser.version(), errors, loaded, ...shows}));
} catch (e) {
  console.error(`the trace viewer failed on ${trace}: ${e.stack || e}`);
  process.exitCode = 1;
} finally {
  await browser.close();
}
