/**
 * `npm run bench simulate`: the whole `deltasim simulate --json` process on the bundled ResNet-18
 * (SCALE-Sim v2 took 646 s and 3.7 GB for the same 32×32 OS run, docs/sources.md), and the pure
 * core per layer.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { simulateRunConfig } from '../../src/cli/commands/simulate.js';
import { parseTopologyCsv } from '../../src/config/topology.js';
import {
  collectRun,
  type DenseRunConfig,
  denseLayerReport,
  simulateDense,
} from '../../src/core/dense-engine.js';
import { HOROWITZ_45NM } from '../../src/core/energy-table.js';
import { lowerTopology } from '../../src/core/lowering.js';
import { SCALESIM_DEFAULT } from '../../src/core/presets.js';
import { type Measurement, measure, median, printTable } from './harness.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const topologyPath = 'configs/topologies/resnet18.csv';

export default async function (): Promise<void> {
  const argv = ['dist/cli/main.js', 'simulate', '--topology', topologyPath, '--json'];
  const processRun = await measure(
    'node dist/cli/main.js simulate --json (ResNet-18, 32x32 OS)',
    () => {
      const r = spawnSync(process.execPath, argv, { cwd: root, encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`simulate exited ${r.status}: ${r.stderr}`);
    },
    { iterations: 15, warmup: 2 },
  );
  const nodeOnly = await measure(
    'node -e "" (process start floor)',
    () => {
      spawnSync(process.execPath, ['-e', ''], { cwd: root });
    },
    { iterations: 15, warmup: 2 },
  );

  const text = readFileSync(`${root}/${topologyPath}`, 'utf8');
  const layers = lowerTopology(parseTopologyCsv(text, topologyPath, 'conv'), 'conv');
  const config: DenseRunConfig = {
    array: { rows: 32, cols: 32 },
    dataflow: 'os',
    precision: 'int8',
    energyTable: HOROWITZ_45NM,
    hardwareName: 'bench',
    toolVersion: 'bench',
    sources: [topologyPath],
  };
  const totalMacs = layers.reduce((s, l) => s + l.gemm.m * l.gemm.n * l.gemm.k, 0);
  const wholeCore = await measure(
    'core: parse + lower + simulateDense, 21 layers',
    () =>
      collectRun(simulateDense(lowerTopology(parseTopologyCsv(text, topologyPath, 'conv'), 'conv'), config)),
    { iterations: 200, warmup: 20, unitsPerRun: totalMacs, unit: 'simulated MACs' },
  );
  const modelConfig = simulateRunConfig(SCALESIM_DEFAULT, [topologyPath], 'bench');
  const modelCore = await measure(
    "core: parse + lower + simulateDense with simulate's memory/energy model, 21 layers",
    () =>
      collectRun(
        simulateDense(lowerTopology(parseTopologyCsv(text, topologyPath, 'conv'), 'conv'), modelConfig),
      ),
    { iterations: 200, warmup: 20, unitsPerRun: totalMacs, unit: 'simulated MACs' },
  );
  const perLayer: Measurement[] = [];
  for (const layer of layers) {
    // One call is far below timer resolution: time 1000 and report per call.
    const m = await measure(
      layer.name,
      () => {
        for (let i = 0; i < 1000; i++) denseLayerReport(layer, config);
      },
      { iterations: 15, warmup: 3 },
    );
    perLayer.push({
      ...m,
      medianMs: m.medianMs / 1000,
      minMs: m.minMs / 1000,
      samplesMs: m.samplesMs.map((s) => s / 1000),
    });
  }
  printTable(
    'deltasim simulate, whole process',
    [processRun, nodeOnly, wholeCore, modelCore],
    ['SCALE-Sim v2, same run on a 2-core machine: 646 s, 3.7 GB (docs/sources.md).'],
  );
  // Per-call times are sub-microsecond: print them in µs rather than the harness's ms column.
  console.log('\n## pure core per layer (denseLayerReport, 32x32 OS)');
  console.log(`${'layer'.padEnd(20)}  ${'median µs'.padStart(10)}  ${'min µs'.padStart(8)}`);
  for (const m of perLayer) {
    console.log(
      `${m.name.padEnd(20)}  ${(m.medianMs * 1000).toFixed(3).padStart(10)}  ${(m.minMs * 1000).toFixed(3).padStart(8)}`,
    );
  }
  console.log(
    `median over layers: ${(median(perLayer.map((m) => m.medianMs)) * 1000).toFixed(3)} µs per layer`,
  );
}
