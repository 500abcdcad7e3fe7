import { describe, expect, test } from 'vitest';
import type { DoctorReport } from '../../../src/cli/commands/doctor.js';
import type { CliIo } from '../../../src/cli/io.js';
import { runCli } from '../../../src/cli/program.js';

function fakeIo(): { io: CliIo; stdout: () => string; stderr: () => string } {
  let out = '';
  let err = '';
  return {
    io: {
      stdout: { write: (s: string) => (out += s) },
      stderr: { write: (s: string) => (err += s) },
      env: {},
      cwd: process.cwd(),
    },
    stdout: () => out,
    stderr: () => err,
  };
}

describe('deltasim doctor', () => {
  test('--json prints one report object as the last line', async () => {
    const { io, stdout, stderr } = fakeIo();
    const code = await runCli(['doctor', '--json'], io);
    expect(code).toBe(0);
    expect(stderr()).toBe('');
    const lines = stdout().trim().split('\n');
    const report = JSON.parse(lines[lines.length - 1] ?? '') as DoctorReport;
    expect(report.node).toBe(process.version);
    expect(report.cpuCount).toBeGreaterThanOrEqual(1);
    expect(report.tfjs.version).toMatch(/^4\./);
    expect(['tensorflow', 'wasm', 'cpu']).toContain(report.backend.chosen);
    expect(report.backend.notes.length).toBeGreaterThan(0);
    expect(report.tfjsNode.installed).toBe(report.backend.chosen === 'tensorflow');
    if (report.backend.chosen === 'wasm') expect(typeof report.wasm.simd).toBe('boolean');
    expect(report.packages.mathjs).toMatch(/^\d+\./);
    expect(report.numpy.python).toBe('/usr/bin/python3');
    expect(report.numpy.version !== null || report.numpy.error !== undefined).toBe(true);
  });

  test('plain output names the backend and, with the global --verbose, explains it on stderr', async () => {
    const { io, stdout, stderr } = fakeIo();
    const code = await runCli(['--verbose', 'doctor', '--backend', 'cpu'], io);
    expect(code).toBe(0);
    expect(stdout()).toMatch(/^backend\s+cpu$/m);
    expect(stderr()).toContain('tfjs: backend cpu (asked: cpu)');
  });

  test('an unknown --backend is a usage error (exit 2, one line)', async () => {
    const { io, stdout, stderr } = fakeIo();
    const code = await runCli(['doctor', '--backend', 'gpu'], io);
    expect(code).toBe(2);
    expect(stdout()).toBe('');
    expect(stderr().trim().split('\n')).toHaveLength(1);
    expect(stderr()).toContain('--backend');
  });
});
