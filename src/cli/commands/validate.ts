import { UsageError } from '../../common/input-error.js';
import {
  CASE_NAMES,
  type CaseName,
  type CaseResult,
  casePassed,
  meanAbsErrorPct,
} from '../../validate/row.js';
import { EXIT_CHECK_FAILED, EXIT_OK } from '../io.js';
import type { CommandModule } from '../program.js';
import { alignedTable } from '../reporters/aligned-table.js';

/** `deltasim validate`: our model against published accelerator figures (docs/validation.md). */
export const validateCommand: CommandModule = {
  register(program, io, setExitCode) {
    program
      .command('validate')
      .description(
        'compare the model with published accelerators (docs/validation.md); exit 1 if a case fails',
      )
      .option('--case <name>', `run one case: ${CASE_NAMES.join(', ')}`)
      .option('--quick', 'small seeded instances (what CI runs) instead of the published sizes')
      .option('--seed <n>', 'seed of the synthetic masks', '1')
      .option('--json', 'print one JSON object (last line of stdout)')
      .action(async (options, command) => {
        const verbose = Boolean((command.optsWithGlobals() as { verbose?: boolean }).verbose);
        const cases = selectCases(options.case);
        const seed = Number(options.seed);
        if (!Number.isSafeInteger(seed) || seed < 0)
          throw new UsageError('--seed', options.seed, 'must be an integer ≥ 0');
        const { runValidation } = await import('../../validate/run-validation.js');
        const results = await runValidation({
          cases,
          quick: options.quick === true,
          seed,
          ...(verbose ? { onCase: (c) => io.stderr.write(`validate: ${c.name} — ${c.title}\n`) } : {}),
        });
        if (options.json) io.stdout.write(`${JSON.stringify(jsonReport(results))}\n`);
        else for (const line of tableLines(results)) io.stdout.write(`${line}\n`);
        const failed = results.filter((r) => !casePassed(r)).map((r) => r.name);
        if (failed.length > 0) {
          io.stderr.write(
            `deltasim validate: ${failed.length} of ${results.length} cases failed: ${failed.join(', ')}\n`,
          );
        }
        setExitCode(failed.length === 0 ? EXIT_OK : EXIT_CHECK_FAILED);
      });
  },
};

function selectCases(name: string | undefined): readonly CaseName[] {
  if (name === undefined) return CASE_NAMES;
  if (!(CASE_NAMES as readonly string[]).includes(name))
    throw new UsageError('--case', name, `must be one of ${CASE_NAMES.join(', ')}`);
  return [name as CaseName];
}

/** Figures to 4 significant digits (cycle counts and bytes in full). */
function figure(value: number | null): string {
  if (value === null) return '—';
  if (Number.isInteger(value) && Math.abs(value) >= 1000) return value.toLocaleString('en-US');
  return Number(value.toPrecision(4)).toString();
}

function percent(value: number | null): string {
  return value === null ? '—' : `${value >= 0 ? '+' : ''}${value.toFixed(1)}`;
}

export function tableLines(results: readonly CaseResult[]): string[] {
  const rows = results.flatMap((r) =>
    r.rows.map((row) => [
      row.name,
      row.metric,
      figure(row.published),
      figure(row.measured),
      percent(row.errorPct),
      row.rule ?? (row.tolerancePct === null ? '—' : `±${Number(row.tolerancePct.toPrecision(3))} %`),
      row.pass === null ? 'info' : row.pass ? 'pass' : 'FAIL',
    ]),
  );
  const lines = alignedTable(
    [
      { title: 'case', left: true },
      { title: 'metric', left: true },
      { title: 'published' },
      { title: 'ours' },
      { title: 'error %' },
      { title: 'tolerance' },
      { title: 'pass', left: true },
    ],
    rows,
  );
  lines.push('');
  for (const r of results) {
    const mean = meanAbsErrorPct(r.rows);
    const sparseloop =
      r.sparseloopMeanErrorPct === undefined ? '' : ` (Sparseloop ${r.sparseloopMeanErrorPct} %)`;
    const meanText =
      mean === null ? 'no published figure to average' : `mean |error| ${mean.toFixed(1)} %${sparseloop}`;
    lines.push(`${r.name}: ${casePassed(r) ? 'pass' : 'FAIL'}, ${meanText}`);
  }
  return lines;
}

/** `--json`: the rows, then one summary per case. */
export function jsonReport(results: readonly CaseResult[]): unknown {
  return {
    cases: results.flatMap((r) =>
      r.rows.map((row) => ({
        name: row.name,
        metric: row.metric,
        published: row.published,
        measured: row.measured,
        errorPct: row.errorPct,
        tolerancePct: row.tolerancePct,
        pass: row.pass,
        ...(row.rule ? { rule: row.rule } : {}),
      })),
    ),
    summary: results.map((r) => ({
      name: r.name,
      pass: casePassed(r),
      meanErrorPct: meanAbsErrorPct(r.rows),
      sparseloopMeanErrorPct: r.sparseloopMeanErrorPct ?? null,
    })),
  };
}
