#!/usr/bin/env node
import { processIo } from './io.js';
import { runCli } from './program.js';

const io = processIo();
// Ctrl-C: writers use temp files + rename, so stopping here loses nothing that was finished.
process.on('SIGINT', () => {
  io.stderr.write('deltasim: interrupted\n');
  process.exit(130);
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
