import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { beforeAll, expect, test } from 'vitest';
import { PROJECT_LAYERS, registerProjectLayers } from '../../../src/nn/layers/registry.js';
import { loadModel } from '../../../src/nn/model-io.js';
import { loadTf, type TfRuntime } from '../../../src/nn/runtime.js';
import { filesUnder, REPO_ROOT } from '../../repo-files.js';

const root = REPO_ROOT;

let runtime: TfRuntime;
beforeAll(async () => {
  runtime = await loadTf({ prefer: 'wasm' });
});

function registeredNames(): string[] {
  const map = runtime.tf.serialization.SerializationMap.getMap().classNameMap;
  return PROJECT_LAYERS.map((layer) => layer.className).filter((name) => name in map);
}

test('every tf.layers.Layer subclass under src/nn is in the registry, under its className', () => {
  const declared: string[] = [];
  for (const file of filesUnder('src/nn', /\.tsx?$/)) {
    const text = readFileSync(file, 'utf8');
    for (const match of text.matchAll(
      /class (\w+) extends (?:tf\.layers\.)?Layer\b[^{]*\{\s*static className = '(\w+)'/g,
    )) {
      expect(match[2], `${relative(root, file)}: ${match[1]} className`).toBe(match[1]);
      declared.push(match[1]!);
    }
    // A subclass without a static className cannot be serialised at all.
    const subclasses = [...text.matchAll(/class (\w+) extends (?:tf\.layers\.)?Layer\b/g)].map((m) => m[1]);
    for (const name of subclasses) {
      expect(declared, `${relative(root, file)}: ${name} needs "static className = '${name}'"`).toContain(
        name,
      );
    }
  }
  expect(declared.length).toBeGreaterThan(0);
  expect(PROJECT_LAYERS.map((layer) => layer.className).sort()).toEqual(declared.sort());
});

test('importing the layer modules registers nothing; the loader registers all of them, once', async () => {
  expect(registeredNames()).toEqual([]);
  const { model } = await loadModel(runtime, join(root, 'models/delta-cnn-dal'));
  expect(model.layers.map((layer) => layer.getClassName())).toEqual(
    expect.arrayContaining(['FramePair', 'DeltaActivation', 'FoldTime', 'UnfoldTime']),
  );
  expect(registeredNames()).toEqual(PROJECT_LAYERS.map((layer) => layer.className));
  registerProjectLayers(runtime.tf);
  expect(registeredNames()).toEqual(PROJECT_LAYERS.map((layer) => layer.className));
  model.dispose();
});
