import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { patchWasmKernels } from './kernels/register-wasm-kernels.js';

export type BackendName = 'tensorflow' | 'wasm' | 'cpu';
export type Tf = typeof import('@tensorflow/tfjs');

export interface TfRuntime {
  readonly tf: Tf;
  readonly backend: BackendName;
  /** Why this backend, and what was done to it (one line each; `--verbose` and `doctor` print them). */
  readonly notes: readonly string[];
}

export interface LoadTfOptions {
  readonly prefer?: BackendName | 'auto';
  readonly verbose?: (line: string) => void;
}

/** A backend asked for by name that cannot be loaded here. */
export class BackendUnavailableError extends Error {
  constructor(
    readonly backend: BackendName,
    readonly reason: string,
  ) {
    super(`tfjs backend "${backend}" is not available: ${reason}`);
    this.name = 'BackendUnavailableError';
  }
}

export const TFJS_NODE_PACKAGE = '@tensorflow/tfjs-node';
export const WASM_PACKAGE = '@tensorflow/tfjs-backend-wasm';

const runtimes = new Map<BackendName, Promise<TfRuntime>>();
let tfModule: Promise<Tf> | undefined;
let wasmPrepared: Promise<string[]> | undefined;

function importTf(): Promise<Tf> {
  tfModule ??= import('@tensorflow/tfjs');
  return tfModule;
}

/**
 * Picks tfjs-node ('tensorflow') if `@tensorflow/tfjs-node` is importable, else wasm, else cpu;
 * `prefer` forces one (BackendUnavailableError if it cannot be loaded). On wasm it registers the
 * missing gradient kernels and the fast transposed-matmul path. Repeated calls with the same
 * outcome return the same runtime object, and always leave that backend active.
 */
export async function loadTf(options: LoadTfOptions = {}): Promise<TfRuntime> {
  const prefer = options.prefer ?? 'auto';
  const tf = await importTf();
  const skipped: string[] = [];
  let runtime: TfRuntime | undefined;
  const order: readonly BackendName[] = prefer === 'auto' ? ['tensorflow', 'wasm', 'cpu'] : [prefer];
  for (const name of order) {
    try {
      runtime = await runtimeFor(name, tf);
      break;
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      if (prefer !== 'auto') {
        throw error instanceof BackendUnavailableError ? error : new BackendUnavailableError(name, reason);
      }
      skipped.push(`${name} skipped: ${reason}`);
    }
  }
  if (!runtime) throw new BackendUnavailableError('cpu', skipped.join('; '));
  // A runtime is cached per backend but tfjs has one global active backend: make ours active.
  if (tf.getBackend() !== runtime.backend) await tf.setBackend(runtime.backend);
  if (options.verbose) {
    options.verbose(`tfjs: backend ${runtime.backend} (asked: ${prefer})`);
    for (const line of runtime.notes) options.verbose(`tfjs: ${line}`);
  }
  return runtime;
}

function runtimeFor(name: BackendName, tf: Tf): Promise<TfRuntime> {
  let pending = runtimes.get(name);
  if (!pending) {
    pending = initialise(name, tf);
    runtimes.set(name, pending);
    // A failed attempt is not cached: e.g. tfjs-node installed later in a long-lived process.
    pending.catch(() => runtimes.delete(name));
  }
  return pending;
}

async function initialise(name: BackendName, tf: Tf): Promise<TfRuntime> {
  const notes: string[] = [];
  switch (name) {
    case 'tensorflow': {
      const reason = await importTfjsNode();
      if (reason) throw new BackendUnavailableError('tensorflow', reason);
      if (!(await tf.setBackend('tensorflow'))) {
        throw new BackendUnavailableError(
          'tensorflow',
          `${TFJS_NODE_PACKAGE} loaded but its backend did not start`,
        );
      }
      notes.push(`${TFJS_NODE_PACKAGE} found: native TensorFlow (libtensorflow) backend`);
      break;
    }
    case 'wasm': {
      if (!(await tfjsNodePresent())) notes.push(tfjsNodeMissingNote());
      notes.push(...(await prepareWasm(tf)));
      if (!(await tf.setBackend('wasm'))) {
        throw new BackendUnavailableError('wasm', 'the wasm module failed to initialise');
      }
      const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
      const threads = await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT');
      notes.push(
        `wasm binary: ${simd ? (threads ? 'tfjs-backend-wasm-threaded-simd.wasm' : 'tfjs-backend-wasm-simd.wasm') : 'tfjs-backend-wasm.wasm'} (SIMD ${simd ? 'on' : 'off'}, threads ${threads ? 'on' : 'off: tfjs-backend-wasm disables threads under Node'})`,
      );
      const patch = patchWasmKernels(tf);
      if (patch.added.length > 0) notes.push(`wasm: registered missing kernels ${patch.added.join(', ')}`);
      const matMuls = patch.wrapped.filter((k) => k !== 'OneHot');
      if (matMuls.length > 0) {
        notes.push(
          `wasm: ${matMuls.join(', ')} transpose flagged operands explicitly (the flagged path is 10-18x slower)`,
        );
      }
      if (patch.wrapped.includes('OneHot'))
        notes.push('wasm: float OneHot built from the int32 one (wasm writes int bits)');
      break;
    }
    case 'cpu': {
      if (!(await tf.setBackend('cpu')))
        throw new BackendUnavailableError('cpu', 'the cpu backend failed to start');
      notes.push('cpu backend: pure JavaScript, slow (25-150x slower than wasm for training)');
      break;
    }
  }
  return { tf, backend: name, notes };
}

let tfjsNodeProbe: Promise<string | undefined> | undefined;

/** Resolves to undefined when tfjs-node loaded, else the reason it did not. */
function importTfjsNode(): Promise<string | undefined> {
  tfjsNodeProbe ??= (async () => {
    // A variable specifier: TypeScript must not need tfjs-node's types, which are not installed.
    const specifier: string = TFJS_NODE_PACKAGE;
    try {
      await import(specifier);
      return undefined;
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') {
        return `${TFJS_NODE_PACKAGE} is not installed`;
      }
      return `${TFJS_NODE_PACKAGE} failed to load: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`;
    }
  })();
  return tfjsNodeProbe;
}

/** Whether `@tensorflow/tfjs-node` can be resolved, without loading it. */
export async function tfjsNodePresent(): Promise<boolean> {
  try {
    createRequire(import.meta.url).resolve(TFJS_NODE_PACKAGE);
    return true;
  } catch {
    return false;
  }
}

function tfjsNodeMissingNote(): string {
  return `${TFJS_NODE_PACKAGE} not installed (with internet access: npm install ${TFJS_NODE_PACKAGE}; it is picked up automatically)`;
}

/** The directory holding the .wasm binaries of the installed tfjs-backend-wasm. */
export function wasmBinaryDirectory(): string {
  // The package's Node entry lives in dist/, next to the .wasm files.
  return dirname(createRequire(import.meta.url).resolve(WASM_PACKAGE));
}

function prepareWasm(_tf: Tf): Promise<string[]> {
  wasmPrepared ??= (async () => {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    const dir = wasmBinaryDirectory();
    // Explicit prefix: the default (the script's own directory) breaks once bundled or when
    // tfjs-core and the backend resolve from different node_modules.
    wasm.setWasmPaths(`${dir}/`);
    return [`wasm binaries from ${dir}`];
  })();
  return wasmPrepared;
}
