/**
 * DeltaNet training throughput: one optimizer step of the same model (d_model 64, 2 heads, one
 * block, MQAR batch) with the delta rule evaluated chunkwise (the UT form, chunk 8, 16 and 32) and
 * token by token, at sequence lengths 128 and 512, in one run. Tokens/s = batch · T / median step
 * time. On a shared machine the wall time mostly measures the other jobs, so every case also reports
 * tokens per CPU-second of this process (process.cpuUsage over the timed steps).
 */
import type { Tensor, Variable } from '@tensorflow/tfjs';
import { generateMqar } from '../../src/nn/data/mqar.js';
import { tokenTensor } from '../../src/nn/eval/sequence-accuracy.js';
import { buildDeltaNet, setMixerForm } from '../../src/nn/models/deltanet.js';
import { loadTf } from '../../src/nn/runtime.js';
import { maskedCrossEntropy } from '../../src/nn/train/train-deltanet.js';
import { type Measurement, measure, printTable } from './harness.js';

const BATCH = 4;

export default async function (): Promise<void> {
  const runtime = await loadTf({ prefer: 'wasm' });
  const { tf } = runtime;
  const rows: Measurement[] = [];
  const cpuNotes: string[] = [];
  for (const seqLen of [128, 512]) {
    const batch = generateMqar({ vocab: 1024, seqLen, pairs: seqLen / 8, count: BATCH, seed: 1 });
    const cases = [
      { form: 'chunkwise', chunk: 8, name: 'chunkwise C=8' },
      { form: 'chunkwise', chunk: 16, name: 'chunkwise' },
      { form: 'chunkwise', chunk: 32, name: 'chunkwise C=32' },
      { form: 'recurrent', chunk: 16, name: 'recurrent' },
    ] as const;
    for (const { form, chunk, name } of cases) {
      const model = buildDeltaNet({
        vocab: 1024,
        dModel: 64,
        layers: 1,
        heads: 2,
        mixer: 'delta',
        chunk,
        seed: 1,
      });
      setMixerForm(model, form);
      const optimizer = tf.train.adam(1e-3);
      const trainable = model.trainableWeights.map((w) => w.read() as Variable);
      const x = tokenTensor(tf, batch, 0, BATCH);
      let cpuMicros = 0;
      let timedSteps = 0;
      const step = () => {
        const cpuBefore = process.cpuUsage();
        const loss = optimizer.minimize(
          () => maskedCrossEntropy(tf, model.apply(x, { training: true }) as Tensor, batch.labels),
          true,
          trainable,
        );
        loss?.dataSync();
        loss?.dispose();
        const cpu = process.cpuUsage(cpuBefore);
        cpuMicros += cpu.user + cpu.system;
        timedSteps += 1;
      };
      rows.push(
        await measure(`train step T=${seqLen}, ${name}`, step, {
          iterations: form === 'recurrent' && seqLen > 128 ? 3 : 5,
          warmup: 1,
          unitsPerRun: BATCH * seqLen,
          unit: 'tokens',
        }),
      );
      // The warm-up step is counted too: a per-step mean over every step run.
      cpuNotes.push(
        `train step T=${seqLen}, ${name}: ${Math.round((BATCH * seqLen * timedSteps) / (cpuMicros / 1e6))} tokens per CPU-second`,
      );
      x.dispose();
      optimizer.dispose();
      model.dispose();
    }
  }
  const ratio = (t: number) => {
    const c = rows.find((r) => r.name === `train step T=${t}, chunkwise`)!;
    const r = rows.find((r) => r.name === `train step T=${t}, recurrent`)!;
    return (r.medianMs / c.medianMs).toFixed(1);
  };
  printTable(`DeltaNet training, batch ${BATCH}, d_model 64, 2 heads, 1 block (wasm)`, rows, [
    `chunkwise speed-up over token by token: ${ratio(128)}x at T=128, ${ratio(512)}x at T=512`,
    ...cpuNotes,
  ]);
}
