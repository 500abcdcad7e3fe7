#!/usr/bin/env node
import { deliverInterrupt, EXIT_INTERRUPTED } from '../common/interrupt.js';
import { processIo } from './io.js';
import { runCli } from './program.js';

/** How long a command that took Ctrl-C may take to stop cleanly before the process ends anyway. */
const FORCE_EXIT_MS = 2000;

const io = processIo();
const exitInterrupted = (): never => {
  io.stderr.write('deltasim: interrupted\n');
  process.exit(EXIT_INTERRUPTED);
};
let interruptDelivered = false;
// Ctrl-C: writers use temp files + rename, so stopping here loses nothing that was finished. A command
// that stops cleanly (replay) takes the signal itself; a second Ctrl-C or a slow stop ends it anyway.
process.on('SIGINT', () => {
  if (!interruptDelivered && deliverInterrupt()) {
    interruptDelivered = true;
    setTimeout(exitInterrupted, FORCE_EXIT_MS).unref();
    return;
  }
  exitInterrupted();
});
runCli(process.argv.slice(2), io).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    io.stderr.write(`deltasim: internal error: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 70;
  },
);
