import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { availableParallelism, cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { UsageError } from '../../common/input-error.js';
import type { CliIo } from '../io.js';
import { EXIT_CHECK_FAILED, EXIT_OK } from '../io.js';
import type { CommandModule } from '../program.js';

/** What `deltasim doctor --json` prints (last line). */
export interface DoctorReport {
  readonly node: string;
  readonly platform: string;
  readonly cpuCount: number;
  readonly cpuModel: string;
  readonly tfjs: { readonly version: string | null; readonly wasmVersion: string | null };
  readonly backend: {
    readonly chosen: string | null;
    readonly notes: readonly string[];
    readonly error?: string;
  };
  readonly wasm: {
    readonly simd: boolean | null;
    readonly threads: boolean | null;
    readonly binaryDir: string | null;
  };
  readonly tfjsNode: { readonly installed: boolean; readonly version: string | null };
  readonly packages: Readonly<Record<string, string | null>>;
  readonly numpy: { readonly python: string; readonly version: string | null; readonly error?: string };
}

const PYTHON = '/usr/bin/python3';
const PROBED_PACKAGES = ['ink', 'react', 'mathjs', 'commander', 'yaml', 'mnist'] as const;

export const doctorCommand: CommandModule = {
  register(program, io, setExitCode) {
    program
      .command('doctor')
      .description(
        'report the runtime: Node, TensorFlow.js backend (and why), wasm SIMD/threads, optional tools',
      )
      .option('--json', 'print one JSON object (last line of stdout)')
      .option('--backend <name>', 'tfjs backend to try: auto, tensorflow, wasm or cpu', 'auto')
      .action(async (options, command) => {
        const verbose = Boolean((command.optsWithGlobals() as { verbose?: boolean }).verbose);
        const prefer = checkBackendName(options.backend);
        const report = await diagnose(prefer, verbose ? (line) => io.stderr.write(`${line}\n`) : undefined);
        if (options.json) io.stdout.write(`${JSON.stringify(report)}\n`);
        else printReport(report, io);
        setExitCode(report.backend.chosen ? EXIT_OK : EXIT_CHECK_FAILED);
      });
  },
};

/** Gathers everything doctor reports. Loads tfjs (the chosen backend stays active). */
export async function diagnose(
  prefer: 'auto' | 'tensorflow' | 'wasm' | 'cpu',
  verbose?: (line: string) => void,
): Promise<DoctorReport> {
  const [tfjsVersion, wasmVersion, tfjsNodeVersion, numpy, ...packageVersions] = await Promise.all([
    packageVersion('@tensorflow/tfjs'),
    packageVersion('@tensorflow/tfjs-backend-wasm'),
    packageVersion('@tensorflow/tfjs-node'),
    probeNumpy(),
    ...PROBED_PACKAGES.map((name) => packageVersion(name)),
  ]);
  const packages: Record<string, string | null> = {};
  PROBED_PACKAGES.forEach((name, i) => {
    packages[name] = packageVersions[i] ?? null;
  });

  let backend: DoctorReport['backend'] = { chosen: null, notes: [] };
  let wasm: DoctorReport['wasm'] = { simd: null, threads: null, binaryDir: null };
  try {
    const { loadTf, wasmBinaryDirectory } = await import('../../nn/runtime.js');
    const runtime = await loadTf({ prefer, ...(verbose ? { verbose } : {}) });
    backend = { chosen: runtime.backend, notes: runtime.notes };
    const env = runtime.tf.env();
    // The flags are defined by tfjs-backend-wasm; ask only when it has been loaded.
    const wasmLoaded = runtime.tf.findBackendFactory('wasm') !== null;
    wasm = {
      simd: wasmLoaded ? Boolean(await env.getAsync('WASM_HAS_SIMD_SUPPORT')) : null,
      threads: wasmLoaded ? Boolean(await env.getAsync('WASM_HAS_MULTITHREAD_SUPPORT')) : null,
      binaryDir: wasmVersion ? wasmBinaryDirectory() : null,
    };
  } catch (error) {
    backend = { chosen: null, notes: [], error: error instanceof Error ? error.message : String(error) };
  }

  return {
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    cpuCount: availableParallelism(),
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
    tfjs: { version: tfjsVersion, wasmVersion },
    backend,
    wasm,
    tfjsNode: { installed: tfjsNodeVersion !== null, version: tfjsNodeVersion },
    packages,
    numpy,
  };
}

function checkBackendName(name: string): 'auto' | 'tensorflow' | 'wasm' | 'cpu' {
  if (name === 'auto' || name === 'tensorflow' || name === 'wasm' || name === 'cpu') return name;
  throw new UsageError('--backend', '', `must be auto, tensorflow, wasm or cpu, got "${name}"`);
}

/** The installed version of a package, found without importing it (mathjs alone costs ~1.7 s). */
async function packageVersion(name: string): Promise<string | null> {
  const require = createRequire(import.meta.url);
  let entry: string;
  try {
    entry = require.resolve(name);
  } catch {
    return null;
  }
  // Walk up from the entry file to the package's own package.json.
  for (let dir = dirname(entry); dir !== dirname(dir); dir = dirname(dir)) {
    try {
      const pkg = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === name) return pkg.version ?? null;
    } catch {
      // no package.json at this level
    }
  }
  return null;
}

function probeNumpy(): Promise<DoctorReport['numpy']> {
  return new Promise((resolve) => {
    execFile(
      PYTHON,
      ['-c', 'import numpy; print(numpy.__version__)'],
      { timeout: 10_000, windowsHide: true },
      (error, stdout, stderr) => {
        if (error) {
          const lastLine = stderr.trim().split('\n').pop() ?? '';
          const reason =
            (error as { code?: unknown }).code === 'ENOENT'
              ? `${PYTHON} not found`
              : lastLine || error.message;
          resolve({ python: PYTHON, version: null, error: reason });
        } else {
          resolve({ python: PYTHON, version: stdout.trim() });
        }
      },
    );
  });
}

function printReport(r: DoctorReport, io: CliIo): void {
  const yesNo = (v: boolean | null) => (v === null ? 'n/a' : v ? 'yes' : 'no');
  const lines = [
    `node          ${r.node} (${r.platform})`,
    `cpus          ${r.cpuCount} × ${r.cpuModel}`,
    `tfjs          ${r.tfjs.version ?? 'not installed'} (wasm backend ${r.tfjs.wasmVersion ?? 'not installed'})`,
    `tfjs-node     ${r.tfjsNode.installed ? r.tfjsNode.version : 'not installed (npm install @tensorflow/tfjs-node to use native TensorFlow)'}`,
    `backend       ${r.backend.chosen ?? `none: ${r.backend.error ?? 'unknown error'}`}`,
    ...r.backend.notes.map((note) => `  - ${note}`),
    `wasm          SIMD ${yesNo(r.wasm.simd)}, threads ${yesNo(r.wasm.threads)}${r.wasm.binaryDir ? `, binaries in ${r.wasm.binaryDir}` : ''}`,
    `numpy         ${r.numpy.version ?? `unavailable (${r.numpy.error ?? 'unknown'})`} via ${r.numpy.python}`,
    ...Object.entries(r.packages).map(([name, v]) => `${name.padEnd(13)} ${v ?? 'not installed'}`),
  ];
  io.stdout.write(`${lines.join('\n')}\n`);
}
