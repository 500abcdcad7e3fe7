import { readFileSync } from 'node:fs';
import type { Reporter } from '../../src/cli/reporters/reporter.js';
import type { RunEvent } from '../../src/core/events.js';
import { createDashboardStore, type DashboardStore } from '../../src/tui/dashboard-store.js';

/** One line of test/golden/events/*.ndjson: an event and the run it belongs to. */
export interface RecordedEvent {
  readonly runIndex: number;
  readonly event: RunEvent;
}

const EVENT_TYPES = new Set(['run-start', 'layer-start', 'layer-progress', 'layer-done', 'run-done']);

export function loadRecordedEvents(name: string): readonly RecordedEvent[] {
  const text = readFileSync(new URL(`../golden/events/${name}`, import.meta.url), 'utf8');
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line, at) => {
      const parsed = JSON.parse(line) as { runIndex?: unknown; event?: { type?: unknown } };
      if (typeof parsed.runIndex !== 'number' || !EVENT_TYPES.has(String(parsed.event?.type))) {
        throw new Error(`${name}: line ${at + 1} is not {runIndex, event}`);
      }
      return parsed as RecordedEvent;
    });
}

/** A store fed with the first `count` events (all by default). */
export function storeWith(events: readonly RecordedEvent[], count = events.length): DashboardStore {
  const store = createDashboardStore();
  for (const { event, runIndex } of events.slice(0, count)) store.dispatch(event, runIndex);
  return store;
}

export function replayInto(reporter: Reporter, events: readonly RecordedEvent[]): void {
  for (const { event, runIndex } of events) reporter.onEvent(event, runIndex);
}

/** The frame without colours, for matching text. */
export function plainFrame(frame: string | undefined): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: ANSI escapes start with ESC
  return (frame ?? '').replace(/\u001B\[[0-9;?]*[A-Za-z]/g, '');
}

/**
 * Lets React flush its passive effects (useInput attaches its listener there, on the scheduler's
 * own queue, not ordered with setTimeout 0) and ink re-render.
 */
export function tick(ms = 20): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Waits until `read()` satisfies `ok` (ink settles some widths one render late, and renders run on
 * timers); returns the last value read so the caller's assertion reports it either way. Up to 5 s:
 * with the whole suite's workers sharing two cores, a late render took more than 0.5 s (a CI run
 * of dcff106 failed on the energy bars' width that way).
 */
export async function settle(
  read: () => string,
  ok: (value: string) => boolean,
  tries = 500,
): Promise<string> {
  let value = read();
  for (let i = 0; i < tries && !ok(value); i++) {
    await tick(10);
    value = read();
  }
  return value;
}
