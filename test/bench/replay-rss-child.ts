/**
 * Child process of replay.bench.ts: replays one trace (sparten-like) and prints its peak RSS in
 * bytes, so 1-step and 10-step traces are measured in fresh processes.
 */
import { SPARTEN_LIKE } from '../../src/core/presets.js';
import { replayTrace } from '../../src/replay/replay-trace.js';
import { openTrace } from '../../src/trace/reader.js';

const path = process.argv[2];
if (!path) throw new Error('usage: replay-rss-child TRACE');
const reader = await openTrace(path);
await replayTrace(reader, { hardware: SPARTEN_LIKE, toolVersion: 'bench', verify: false, onEvent: () => {} });
await reader.close();
// maxRSS is in kilobytes.
console.log(String(process.resourceUsage().maxRSS * 1024));
