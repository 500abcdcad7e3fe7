/**
 * The replay worker's first import: V8's tiering for replay (./v8-tiering.ts), set when this module
 * is evaluated — after the worker's modules and the Node internals they need are loaded (with Node's
 * code cache, which a changed flag would void: src/cli/main.ts), before any other of them is
 * evaluated, so every replay function is created under it, as on the main thread.
 */
import { tuneTieringForReplay } from './v8-tiering.js';

tuneTieringForReplay();
