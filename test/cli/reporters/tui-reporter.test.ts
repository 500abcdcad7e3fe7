import { EventEmitter } from 'node:events';
import { expect, test, vi } from 'vitest';
import { createTuiReporter } from '../../../src/cli/reporters/tui-reporter.js';
import { loadRecordedEvents, plainFrame, replayInto, tick } from '../../tui/recorded-events.js';

/** Just enough of a terminal for ink: a writable with a size, and a keyboard. */
class FakeTerminal extends EventEmitter {
  readonly isTTY: boolean;
  readonly columns = 140;
  readonly rows = 45;
  readonly chunks: string[] = [];
  constructor(isTTY: boolean) {
    super();
    this.isTTY = isTTY;
  }
  write(chunk: string): boolean {
    this.chunks.push(chunk);
    return true;
  }
}

class FakeKeyboard extends EventEmitter {
  private pending: string[] = [];
  constructor(readonly isTTY: boolean) {
    super();
  }
  press(key: string): void {
    this.pending.push(key);
    this.emit('readable');
  }
  read(): string | null {
    return this.pending.shift() ?? null;
  }
  setRawMode(): this {
    return this;
  }
  setEncoding(): this {
    return this;
  }
  ref(): this {
    return this;
  }
  unref(): this {
    return this;
  }
  resume(): this {
    return this;
  }
  pause(): this {
    return this;
  }
}

const replay = loadRecordedEvents('replay-small.ndjson');

function streams(interactive: boolean) {
  const stdout = new FakeTerminal(true);
  const stdin = new FakeKeyboard(interactive);
  // The fakes implement what ink touches; the full Node stream types are far larger.
  return {
    stdout,
    stdin,
    stdoutStream: stdout as unknown as NodeJS.WriteStream,
    stdinStream: stdin as unknown as NodeJS.ReadStream,
  };
}

test('without a keyboard the dashboard ends with the run and leaves the final frame', async () => {
  const { stdout, stdoutStream, stdinStream } = streams(false);
  const onAbort = vi.fn();
  const reporter = await createTuiReporter({
    stdout: stdoutStream,
    stdin: stdinStream,
    expectedRuns: 1,
    onAbort,
    patchConsole: false,
  });
  replayInto(reporter, replay);
  await reporter.finish();
  const output = plainFrame(stdout.chunks.join(''));
  expect(output).toContain('total  cycles 17.0k (baseline 26.0k, speedup 1.53×, compute 1.54×)');
  expect(onAbort).not.toHaveBeenCalled();
});

test('with a keyboard finish waits for q; quitting after the run does not abort', async () => {
  const { stdin, stdoutStream, stdinStream } = streams(true);
  const onAbort = vi.fn();
  const reporter = await createTuiReporter({
    stdout: stdoutStream,
    stdin: stdinStream,
    expectedRuns: 1,
    onAbort,
    patchConsole: false,
  });
  replayInto(reporter, replay);
  let finished = false;
  const finishing = reporter.finish().then(() => {
    finished = true;
  });
  await tick(50);
  expect(finished).toBe(false);
  stdin.press('q');
  await finishing;
  expect(onAbort).not.toHaveBeenCalled();
});

test('q in the middle of a run aborts it, and later events no longer draw', async () => {
  const { stdout, stdin, stdoutStream, stdinStream } = streams(true);
  const onAbort = vi.fn();
  const reporter = await createTuiReporter({
    stdout: stdoutStream,
    stdin: stdinStream,
    expectedRuns: 1,
    onAbort,
    patchConsole: false,
  });
  replayInto(reporter, replay.slice(0, 8));
  await tick(50);
  stdin.press('q');
  await tick(50);
  expect(onAbort).toHaveBeenCalledTimes(1);
  const written = stdout.chunks.length;
  replayInto(reporter, replay.slice(8));
  await reporter.finish();
  await tick(50);
  expect(stdout.chunks.length).toBe(written);
});

test('with a keyboard, a command that stops before its run is done gets the terminal back at once', async () => {
  const { stdoutStream, stdinStream } = streams(true);
  const onAbort = vi.fn();
  const reporter = await createTuiReporter({
    stdout: stdoutStream,
    stdin: stdinStream,
    expectedRuns: 1,
    onAbort,
    patchConsole: false,
  });
  // The command failed mid-run (no run-done) and calls finish from its `finally`: no `q` is pressed.
  replayInto(reporter, replay.slice(0, 8));
  let finished = false;
  const finishing = reporter.finish().then(() => {
    finished = true;
  });
  await Promise.race([finishing, tick(1500)]);
  expect(finished).toBe(true);
  expect(onAbort).not.toHaveBeenCalled();
});
