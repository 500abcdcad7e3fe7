import { useStdout } from 'ink';
import { useEffect, useReducer } from 'react';
import { fitParts } from './format.js';

export interface TerminalSize {
  readonly columns: number;
  readonly rows: number;
}

/** Used when the stream does not say (a test stream, a pipe forced into the TUI). */
export const FALLBACK_SIZE: TerminalSize = { columns: 100, rows: 40 };

/**
 * The terminal's size, read on every render and re-rendered on every `resize`, so the layout reflows
 * to the new width instead of letting ink wrap lines laid out for the old one.
 */
export function useTerminalSize(): TerminalSize {
  const { stdout } = useStdout();
  const [, redraw] = useReducer((count: number) => count + 1, 0);
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const onResize = (): void => {
      redraw();
      // Width-measuring children (@inkjs/ui's ProgressBar) read the previous layout while rendering;
      // a second pass once the new layout exists lets them settle on the new width.
      clearTimeout(timer);
      timer = setTimeout(redraw, 0);
    };
    stdout.on('resize', onResize);
    return () => {
      clearTimeout(timer);
      stdout.off('resize', onResize);
    };
  }, [stdout]);
  return {
    columns: stdout.columns > 0 ? stdout.columns : FALLBACK_SIZE.columns,
    rows: stdout.rows > 0 ? stdout.rows : FALLBACK_SIZE.rows,
  };
}

/**
 * Below this the dashboard cannot show a layer with one figure beside it; it prints one line saying
 * so instead (and the plain summary at the end). Documented in README.md.
 */
export const MIN_SIZE: TerminalSize = { columns: 30, rows: 8 };

export function isTooSmall(size: TerminalSize): boolean {
  return size.columns < MIN_SIZE.columns || size.rows < MIN_SIZE.rows;
}

/** The one line shown instead of the dashboard on a too-small terminal. */
export function tooSmallLine(size: TerminalSize): string {
  return fitParts(
    [
      'terminal too small',
      `(${size.columns}×${size.rows}, needs ${MIN_SIZE.columns}×${MIN_SIZE.rows});`,
      'summary at the end',
    ],
    size.columns,
  );
}
