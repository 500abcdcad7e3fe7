import { readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { io, LayersModel } from '@tensorflow/tfjs';
import { commitFile, ensureDirectory, OutputError } from '../common/atomic-write.js';
import { InputError } from '../common/input-error.js';
import { removeTemporary, temporaryPathFor } from '../common/temp-files.js';
import type { TfRuntime } from './runtime.js';

/** A missing or corrupt model directory: names the file and the field. */
export class ModelError extends InputError {}

/** What a trained model is, where it came from and how well it does (`card.json`). */
export interface ModelCard {
  readonly name: string;
  readonly family: string;
  readonly variant: string;
  readonly seed: number;
  readonly epochs: number;
  readonly backend: string;
  readonly data: Record<string, unknown>;
  readonly metrics: Record<string, number>;
  readonly createdBy: string;
  readonly command: string;
}

export const MODEL_JSON = 'model.json';
export const WEIGHTS_BIN = 'weights.bin';
export const CARD_JSON = 'card.json';

/**
 * Saves `model` as `dir/model.json` + `dir/weights.bin` + `dir/card.json` without tfjs-node's
 * `file://` handler (not installable here): `tf.io.withSaveHandler` hands us the artefacts and we
 * write them. Only these three files are replaced — anything else in `dir` is the user's and stays.
 * Whether replacing them is allowed is the caller's decision (`--force`, `--resume`), taken before
 * training started.
 */
export async function saveModel(
  runtime: TfRuntime,
  model: LayersModel,
  dir: string,
  card: ModelCard,
): Promise<void> {
  const { tf } = runtime;
  checkCard(card, '<card>');
  let files: { modelJson: string; weights: Uint8Array } | undefined;
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      const weightData = artifacts.weightData ?? new ArrayBuffer(0);
      const weights = new Uint8Array(tf.io.CompositeArrayBuffer.join(weightData));
      const modelJson: io.ModelJSON = {
        modelTopology: artifacts.modelTopology ?? {},
        weightsManifest: [{ paths: [`./${WEIGHTS_BIN}`], weights: artifacts.weightSpecs ?? [] }],
        format: artifacts.format ?? 'layers-model',
        generatedBy: artifacts.generatedBy ?? `TensorFlow.js tfjs-layers v${tf.version_layers}`,
        convertedBy: artifacts.convertedBy ?? null,
        ...(artifacts.trainingConfig ? { trainingConfig: artifacts.trainingConfig } : {}),
        ...(artifacts.userDefinedMetadata ? { userDefinedMetadata: artifacts.userDefinedMetadata } : {}),
      };
      files = { modelJson: JSON.stringify(modelJson), weights };
      return {
        modelArtifactsInfo: {
          dateSaved: new Date(),
          modelTopologyType: 'JSON',
          weightDataBytes: weights.byteLength,
        },
      };
    }),
  );
  if (!files) throw new Error('saveModel: tfjs did not hand over the model artefacts');
  await writeModelFiles(dir, {
    [WEIGHTS_BIN]: files.weights,
    [MODEL_JSON]: files.modelJson,
    [CARD_JSON]: `${JSON.stringify(card, null, 2)}\n`,
  });
}

/**
 * Loads a directory written by `saveModel` through `tf.io.fromMemory`. The project's custom layers
 * are registered here, so loading never depends on which layer modules a command imported first.
 */
export async function loadModel(
  runtime: TfRuntime,
  dir: string,
): Promise<{ model: LayersModel; card: ModelCard }> {
  const { tf } = runtime;
  const modelPath = join(dir, MODEL_JSON);
  const weightsPath = join(dir, WEIGHTS_BIN);
  const card = await readModelCard(dir);
  const modelJson = checkModelJson(await readJson(modelPath), modelPath);
  const weightSpecs = modelJson.weightsManifest.flatMap((group) => group.weights);
  const weights = await readBytes(weightsPath);
  const expectedBytes = weightSpecs.reduce((sum, spec) => sum + specBytes(spec, modelPath), 0);
  if (weights.byteLength !== expectedBytes) {
    throw new ModelError(
      weightsPath,
      'length',
      `has ${weights.byteLength} bytes, ${MODEL_JSON} weightsManifest needs ${expectedBytes}`,
    );
  }
  const weightData = weights.buffer.slice(
    weights.byteOffset,
    weights.byteOffset + weights.byteLength,
  ) as ArrayBuffer;
  const artifacts = tf.io.getModelArtifactsForJSONSync(modelJson, weightSpecs, weightData);
  // The layer classes extend tfjs's Layer: imported here, not at the top, so that the CLI can
  // check flags and cards (ModelError, saveModel's types) without starting tfjs.
  const { registerProjectLayers } = await import('./layers/registry.js');
  registerProjectLayers(tf);
  let model: LayersModel;
  try {
    model = await tf.loadLayersModel(tf.io.fromMemory(artifacts));
  } catch (error) {
    const message = error instanceof Error ? (error.message.split('\n')[0] ?? '') : String(error);
    throw new ModelError(modelPath, 'modelTopology', `cannot be built: ${message}`);
  }
  return { model, card };
}

/** Reads and validates a model directory's `card.json` alone (no tfjs: flags are checked first). */
export async function readModelCard(dir: string): Promise<ModelCard> {
  const cardPath = join(dir, CARD_JSON);
  return parseModelCard(await readJson(cardPath), cardPath);
}

/** Validates a parsed `card.json`; `source` names the file in errors. */
export function parseModelCard(value: unknown, source: string): ModelCard {
  if (!isRecord(value)) throw new ModelError(source, '', 'must be a JSON object');
  checkCard(value, source);
  return value as unknown as ModelCard;
}

function checkCard(card: object, source: string): void {
  const record = card as Record<string, unknown>;
  for (const field of ['name', 'family', 'variant', 'backend', 'createdBy', 'command'] as const) {
    if (typeof record[field] !== 'string')
      throw new ModelError(source, `field "${field}"`, 'must be a string');
  }
  for (const field of ['seed', 'epochs'] as const) {
    const v = record[field];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) {
      throw new ModelError(source, `field "${field}"`, 'must be a non-negative integer');
    }
  }
  if (!isRecord(record.data)) throw new ModelError(source, 'field "data"', 'must be an object');
  const metrics = record.metrics;
  if (!isRecord(metrics)) throw new ModelError(source, 'field "metrics"', 'must be an object');
  for (const [key, v] of Object.entries(metrics)) {
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      throw new ModelError(source, `field "metrics.${key}"`, 'must be a finite number');
    }
  }
}

function checkModelJson(value: unknown, source: string): io.ModelJSON {
  if (!isRecord(value)) throw new ModelError(source, '', 'must be a JSON object');
  if (!isRecord(value.modelTopology))
    throw new ModelError(source, 'field "modelTopology"', 'must be an object');
  const manifest = value.weightsManifest;
  if (!Array.isArray(manifest)) throw new ModelError(source, 'field "weightsManifest"', 'must be an array');
  manifest.forEach((group: unknown, g) => {
    if (!isRecord(group) || !Array.isArray(group.weights)) {
      throw new ModelError(source, `field "weightsManifest[${g}].weights"`, 'must be an array');
    }
    group.weights.forEach((spec: unknown, w) => {
      const where = `field "weightsManifest[${g}].weights[${w}]"`;
      if (!isRecord(spec) || typeof spec.name !== 'string' || typeof spec.dtype !== 'string') {
        throw new ModelError(source, where, 'needs a string name and dtype');
      }
      if (!Array.isArray(spec.shape) || !spec.shape.every((d) => Number.isInteger(d) && d >= 0)) {
        throw new ModelError(source, `${where}.shape`, 'must be an array of non-negative integers');
      }
    });
  });
  return value as unknown as io.ModelJSON;
}

const DTYPE_BYTES: Readonly<Record<string, number>> = {
  float32: 4,
  int32: 4,
  bool: 1,
  uint8: 1,
  uint16: 2,
  float16: 2,
};

function specBytes(spec: io.WeightsManifestEntry, source: string): number {
  const dtype = spec.quantization?.dtype ?? spec.dtype;
  const bytes = DTYPE_BYTES[dtype];
  if (bytes === undefined) {
    throw new ModelError(
      source,
      `weight "${spec.name}" dtype`,
      `"${dtype}" is not supported in ${WEIGHTS_BIN}`,
    );
  }
  return spec.shape.reduce((p, d) => p * d, 1) * bytes;
}

async function readJson(path: string): Promise<unknown> {
  const text = new TextDecoder().decode(await readBytes(path));
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new ModelError(
      path,
      '',
      `is not valid JSON (${error instanceof Error ? error.message : String(error)})`,
    );
  }
}

async function readBytes(path: string): Promise<Uint8Array> {
  try {
    return await readFile(path);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === 'ENOENT') throw new ModelError(path, '', 'is missing');
    if (code === 'EISDIR') throw new ModelError(path, '', 'is a directory, expected a file');
    if (code === 'ENOTDIR')
      throw new ModelError(dirname(path), '', 'is not a model directory (not a directory)');
    throw new ModelError(path, '', `cannot be read (${String(code ?? error)})`);
  }
}

/**
 * Writes every file to a temporary beside it first, then renames them into place one after the
 * other (weights before the model.json that describes them): an interruption while writing leaves
 * the old model whole, and the renames take microseconds.
 */
async function writeModelFiles(dir: string, files: Record<string, string | Uint8Array>): Promise<void> {
  try {
    await ensureDirectory(dir);
  } catch (error) {
    throw new OutputError(
      dir,
      '',
      `cannot create the directory (${String((error as { code?: unknown }).code ?? error)})`,
    );
  }
  const staged: { tmp: string; path: string }[] = [];
  try {
    for (const [name, data] of Object.entries(files)) {
      const path = join(dir, name);
      const tmp = temporaryPathFor(path);
      staged.push({ tmp, path });
      await writeFile(tmp, data);
    }
    for (const { tmp, path } of staged) await commitFile(tmp, path, { overwrite: true });
  } finally {
    for (const { tmp } of staged) await removeTemporary(tmp);
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
