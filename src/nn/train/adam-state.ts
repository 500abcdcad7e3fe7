import type * as tfTypes from '@tensorflow/tfjs';
import type { TfRuntime } from '../runtime.js';
import type { CheckpointTensor } from './checkpoint.js';

type Tf = TfRuntime['tf'];

/**
 * tfjs's Adam keeps β₁ᵗ and β₂ᵗ as float32 variables multiplied by β once per step, but its
 * `getWeights` leaves them out and `setWeights` recomputes them as `pow(β, t + 1)`, which rounds
 * differently from the running product: a resumed run then drifts from an uninterrupted one after
 * the first few dozen steps. The checkpoint therefore stores both products and puts them back.
 * They are private fields of `AdamOptimizer` (tfjs 4.22), hence the structural view and the check.
 */
interface AdamPowers {
  readonly accBeta1: tfTypes.Variable;
  readonly accBeta2: tfTypes.Variable;
}

const POWER_NAMES = ['adam/accBeta1', 'adam/accBeta2'] as const;

function powersOf(optimizer: tfTypes.Optimizer): AdamPowers {
  const view = optimizer as unknown as Partial<AdamPowers>;
  if (view.accBeta1 === undefined || view.accBeta2 === undefined) {
    throw new Error('this tfjs Adam optimizer has no accBeta1/accBeta2: checkpoints cannot hold its state');
  }
  return view as AdamPowers;
}

/** The optimizer's whole state: step counter, first and second moments, and β₁ᵗ, β₂ᵗ. */
export async function snapshotAdam(optimizer: tfTypes.Optimizer): Promise<CheckpointTensor[]> {
  const named = await optimizer.getWeights();
  const powers = powersOf(optimizer);
  return [
    ...named.map((n) => ({
      name: n.name,
      shape: n.tensor.shape,
      values: Float32Array.from(n.tensor.dataSync()),
    })),
    { name: POWER_NAMES[0], shape: [], values: Float32Array.from(powers.accBeta1.dataSync()) },
    { name: POWER_NAMES[1], shape: [], values: Float32Array.from(powers.accBeta2.dataSync()) },
  ];
}

/** Puts back what `snapshotAdam` took; a state without the β powers is refused (it cannot resume exactly). */
export async function restoreAdam(
  tf: Tf,
  optimizer: tfTypes.Optimizer,
  state: readonly CheckpointTensor[],
): Promise<void> {
  const power = (name: string) => state.find((t) => t.name === name);
  const beta1 = power(POWER_NAMES[0]);
  const beta2 = power(POWER_NAMES[1]);
  if (!beta1 || !beta2) throw new Error('optimizer state lacks the Adam β powers');
  const rest = state.filter((t) => t !== beta1 && t !== beta2);
  if (rest.length > 0) {
    const tensors = rest.map((t) => ({ name: t.name, tensor: tf.tensor(t.values, [...t.shape]) }));
    await optimizer.setWeights(tensors);
    // setWeights wraps each slot in a new variable; the step counter tensor is read and dropped.
    tf.dispose(tensors.map((t) => t.tensor));
  }
  const powers = powersOf(optimizer);
  tf.tidy(() => {
    powers.accBeta1.assign(tf.scalar(beta1.values[0]!));
    powers.accBeta2.assign(tf.scalar(beta2.values[0]!));
  });
}
