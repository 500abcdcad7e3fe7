import { performance } from 'node:perf_hooks';
import { useEffect, useReducer, useRef } from 'react';

/** How often the elapsed time (and so the frame) moves while work is running. */
export const ELAPSED_TICK_MS = 250;

/**
 * Milliseconds since the process started (the command's start, as the boot line counts it),
 * re-rendering every ELAPSED_TICK_MS while `running` so the frame visibly moves even while one step
 * of a large layer is computed; frozen once done.
 */
export function useElapsedMs(running: boolean): number {
  const frozen = useRef<number | undefined>(undefined);
  const [, tick] = useReducer((count: number) => count + 1, 0);
  useEffect(() => {
    if (!running) return;
    const timer = setInterval(tick, ELAPSED_TICK_MS);
    return () => clearInterval(timer);
  }, [running]);
  if (running) {
    frozen.current = undefined;
    return performance.now();
  }
  frozen.current ??= performance.now();
  return frozen.current;
}

export function formatElapsed(ms: number): string {
  const seconds = ms / 1000;
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const minutes = Math.floor(seconds / 60);
  return `${minutes} min ${String(Math.floor(seconds - minutes * 60)).padStart(2, '0')} s`;
}
