/**
 * A law: a statement every hardware model and engine must satisfy, as a fast-check property over
 * generated cases. `arbitrary` draws a case for the subject under test, `check` throws a
 * LawViolation naming what broke. Users run one in their own tests with `lawProperty`.
 */
import fc from 'fast-check';
import type { HardwareModel } from '../../core/hardware.js';
import type { Engine } from '../engine.js';

/** What the laws are checked against: a hardware model and the engine that runs it. */
export interface Subject {
  readonly hardware: HardwareModel;
  readonly engine: Engine;
}

export class LawViolation extends Error {}

export interface Law<T> {
  /** Kebab-case id (`deltasim check --law NAME`). */
  readonly name: string;
  /** The law in one sentence. */
  readonly statement: string;
  arbitrary(subject: Subject): fc.Arbitrary<T>;
  check(subject: Subject, value: T): Promise<void>;
  /** A readable account of a counterexample (fast-check's own printing when absent). */
  describe?(value: T): string;
  /** At most this many cases per check, whatever the requested runs (a law whose case is costly). */
  readonly maxRuns?: number;
}

/** A law with its case type hidden, so laws of different case types share one list. */
export interface AnyLaw {
  readonly name: string;
  readonly statement: string;
  readonly maxRuns?: number;
  property(subject: Subject): fc.IAsyncPropertyWithHooks<[unknown]>;
  /**
   * The law over drawn hardware as well as drawn cases: `hardware` draws the design, the law its
   * case for that design. Counterexamples are `[hardware, case]`.
   */
  propertyOverHardware(
    hardware: fc.Arbitrary<HardwareModel>,
    engine: Engine,
  ): fc.IAsyncPropertyWithHooks<[[HardwareModel, unknown]]>;
  describe(value: unknown): string;
}

export function defineLaw<T>(law: Law<T>): AnyLaw {
  return {
    name: law.name,
    statement: law.statement,
    ...(law.maxRuns !== undefined ? { maxRuns: law.maxRuns } : {}),
    property: (subject) =>
      fc.asyncProperty(law.arbitrary(subject) as fc.Arbitrary<unknown>, (value) =>
        law.check(subject, value as T),
      ),
    propertyOverHardware: (hardware, engine) =>
      fc.asyncProperty(
        hardware.chain((hw) =>
          law.arbitrary({ hardware: hw, engine }).map((value): [HardwareModel, unknown] => [hw, value]),
        ),
        ([hw, value]) => law.check({ hardware: hw, engine }, value as T),
      ),
    describe: (value) => (law.describe ? law.describe(value as T) : fc.stringify(value)),
  };
}

/** Fails with `message` unless `condition` holds. */
export function expectLaw(condition: boolean, message: () => string): void {
  if (!condition) throw new LawViolation(message());
}

/** Equal within a relative tolerance (sums of floating-point energies in a different order). */
export function close(a: number, b: number, relative = 1e-9): boolean {
  return Math.abs(a - b) <= relative * Math.max(1, Math.abs(a), Math.abs(b));
}
