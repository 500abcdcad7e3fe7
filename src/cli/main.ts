#!/usr/bin/env node
import { installSignalHandlers } from '../common/shutdown.js';
import { processIo } from './io.js';

const args = process.argv.slice(2);
// `replay`'s worker threads boot while this thread loads the CLI (./commands/replay-prestart.ts).
// V8's tiering for replay (src/replay/v8-tiering.ts) is set later, once the CLI is loaded, just
// before the replay code loads (./commands/replay.ts): a V8 flag changed at run time no longer
// matches the flags Node's built-in code cache was made with, so every Node-internal module
// compiled after it is compiled from source — ~30 ms more CPU for a pool thread's boot, and more
// for this thread's start, both on the critical path of a replay.
if (args[0] === 'replay') {
  (await import('./commands/replay-prestart.js')).prestartReplayThreads(args.slice(1));
}
const { runCli } = await import('./program.js');

const io = processIo();
// Ctrl-C / SIGTERM: this run's temporaries are removed and the exit code is 130 / 143; training
// first finishes its batch and saves a checkpoint (src/common/shutdown.ts).
installSignalHandlers((line) => io.stderr.write(`${line}\n`));
runCli(args, io).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    io.stderr.write(`deltasim: internal error: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 70;
  },
);
