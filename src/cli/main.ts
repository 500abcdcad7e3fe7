#!/usr/bin/env node
import { installSignalHandlers } from '../common/shutdown.js';
import { processIo } from './io.js';

const args = process.argv.slice(2);
// `replay`'s worker threads boot while this thread loads the CLI (./commands/replay-prestart.ts).
// V8's tiering for replay is set first, before any replay code loads (src/replay/v8-tiering.ts).
if (args[0] === 'replay') {
  (await import('../replay/v8-tiering.js')).tuneTieringForReplay();
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
