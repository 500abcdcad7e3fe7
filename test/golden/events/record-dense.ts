/**
 * Records `simulate`'s event stream (dense timing, replay memory/energy model) over a bundled topology as test data for the TUI and
 * reporter tests: `npx tsx test/golden/events/record-dense.ts` rewrites resnet18-dense.ndjson.
 * test/tui/recorded-dense.test.ts re-runs the engine and fails when the recording is stale.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { simulateRunConfig } from '../../../src/cli/commands/simulate.js';
import { SCALESIM_DEFAULT } from '../../../src/core/presets.js';
import { loadTopology } from '../../../src/config/topology.js';
import { collectRun, simulateDense } from '../../../src/core/dense-engine.js';
import type { RunEvent } from '../../../src/core/events.js';
import { lowerTopology } from '../../../src/core/lowering.js';

export const DENSE_RECORDING = 'resnet18-dense.ndjson';
const TOPOLOGY = 'configs/topologies/resnet18.csv';

/** The events of `deltasim simulate --topology configs/topologies/resnet18.csv` (SCALE-Sim defaults). */
export async function recordDenseEvents(): Promise<readonly RunEvent[]> {
  const root = fileURLToPath(new URL('../../../', import.meta.url));
  const layers = lowerTopology(await loadTopology(`${root}${TOPOLOGY}`, 'conv', TOPOLOGY), 'conv');
  // Fixed version, so a version bump does not make the recording stale.
  return collectRun(simulateDense(layers, simulateRunConfig(SCALESIM_DEFAULT, [TOPOLOGY], '0.1.0')))
    .events;
}

export function toNdjson(events: readonly RunEvent[]): string {
  return events.map((event) => `${JSON.stringify({ runIndex: 0, event })}\n`).join('');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const events = await recordDenseEvents();
  writeFileSync(new URL(DENSE_RECORDING, import.meta.url), toNdjson(events));
  console.log(`wrote ${events.length} events to test/golden/events/${DENSE_RECORDING}`);
}
