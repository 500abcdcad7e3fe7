/**
 * Child process of replay.bench.ts: replays one trace (sparten-like) in a fresh process and prints
 * the JavaScript heap bytes the replay allocates per step after the first (the parent starts it with a young generation big enough that
 * no garbage collection runs, so the young generation's growth is the allocation): what makes V8
 * grow its young generation, and so the peak RSS, with the trace length. Unlike RSS it does not
 * depend on the machine's load.
 */
import { getHeapSpaceStatistics } from 'node:v8';
import { SPARTEN_LIKE } from '../../src/core/presets.js';
import { replayTrace } from '../../src/replay/replay-trace.js';
import { openTrace } from '../../src/trace/reader.js';

const path = process.argv[2];
if (!path) throw new Error('usage: replay-rss-child TRACE --allocated');

/** Bytes in use in the young generation (new space and its large-object space). */
function youngBytes(): number {
  let bytes = 0;
  for (const space of getHeapSpaceStatistics())
    if (space.space_name === 'new_space' || space.space_name === 'new_large_object_space')
      bytes += space.space_used_size;
  return bytes;
}

// What one youngBytes() call allocates itself (its result array), taken off every reading after the first.
const probe = youngBytes();
const probeBytes = youngBytes() - probe;
const reader = await openTrace(path);
const steps = reader.manifest.steps.length;
// Per layer: young-generation bytes at its first step's progress event and at its last.
let sinceFirstStep = 0;
let atFirstStep = 0;
let shrank = false;
await replayTrace(reader, {
  hardware: SPARTEN_LIKE,
  toolVersion: 'bench',
  verify: false,
  onEvent: (event) => {
    if (event.type !== 'layer-progress') return;
    const now = youngBytes();
    if (event.done === 1) atFirstStep = now;
    else if (now < atFirstStep) shrank = true;
    if (event.done === steps && steps > 1) sinceFirstStep += now - atFirstStep - (steps - 1) * probeBytes;
  },
});
await reader.close();
if (shrank) throw new Error('a garbage collection ran: the young generation is too small to measure');
console.log(String(steps > 1 ? sinceFirstStep / (steps - 1) : 0));
