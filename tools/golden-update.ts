// `npm run golden:update`: rewrites test/golden/reports/*.json from the current model (every
// bundled trace and topology on every preset). Deterministic: the same code gives the same bytes.
// Review the diff (`git diff test/golden/reports`) before committing: a moved figure is a change
// of the model, never noise.
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  KNOWN_MISMATCH_STALLS_FILE,
  knownMismatchStalls,
  removeScratch,
} from '../test/core/scalesim-v2-cases.js';
import { computeGolden, GOLDEN_REPORTS_DIR, goldenSources } from '../test/testing/golden-reports.js';

mkdirSync(GOLDEN_REPORTS_DIR, { recursive: true });
const sources = goldenSources();
const wanted = new Set([...sources.map((s) => s.file), KNOWN_MISMATCH_STALLS_FILE]);
// A golden file whose source is gone would guard nothing.
for (const file of readdirSync(GOLDEN_REPORTS_DIR))
  if (!wanted.has(file)) rmSync(join(GOLDEN_REPORTS_DIR, file));
for (const source of sources) {
  const started = Date.now();
  const golden = await computeGolden(source);
  writeFileSync(join(GOLDEN_REPORTS_DIR, source.file), `${JSON.stringify(golden, null, 1)}\n`);
  console.log(
    `${source.file}: ${source.source} on ${Object.keys(golden.presets).length} presets (${Date.now() - started} ms)`,
  );
}
// The SCALE-Sim v2 runs whose stall figures differ by design: our stalls as of today.
try {
  writeFileSync(
    join(GOLDEN_REPORTS_DIR, KNOWN_MISMATCH_STALLS_FILE),
    `${JSON.stringify(await knownMismatchStalls(), null, 1)}\n`,
  );
  console.log(`${KNOWN_MISMATCH_STALLS_FILE}: SCALE-Sim v2 runs whose stalls differ by design`);
} finally {
  removeScratch();
}
