/**
 * DeltaNet training throughput: one optimizer step of the same model (d_model 64, 2 heads, one
 * block, MQAR batch) with the delta rule evaluated chunkwise (the UT form, chunk 16 and 32) and token
 * by token, at sequence lengths 128 and 512, in one run. Tokens/s = batch · T / median step time.
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
  for (const seqLen of [128, 512]) {
    const batch = generateMqar({ vocab: 1024, seqLen, pairs: seqLen / 8, count: BATCH, seed: 1 });
    const cases = [
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
      const step = () => {
        const loss = optimizer.minimize(
          () => maskedCrossEntropy(tf, model.apply(x, { training: true }) as Tensor, batch.labels),
          true,
          trainable,
        );
        loss?.dataSync();
        loss?.dispose();
      };
      rows.push(
        await measure(`train step T=${seqLen}, ${name}`, step, {
          iterations: form === 'recurrent' && seqLen > 128 ? 3 : 5,
          warmup: 1,
          unitsPerRun: BATCH * seqLen,
          unit: 'tokens',
        }),
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
  ]);
}
