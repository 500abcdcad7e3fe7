import { InputError } from '../common/input-error.js';

/** A hardware configuration (SCALE-Sim `.cfg`, our YAML/JSON hardware file) broke a rule. */
export class ConfigError extends InputError {}
