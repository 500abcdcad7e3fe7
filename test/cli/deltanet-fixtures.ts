/** A DeltaNet small enough to train hundreds of steps in seconds (CLI tests as fresh processes). */
export const TINY_DELTANET_FLAGS = [
  '--task',
  'mqar',
  '--seq',
  '16',
  '--pairs',
  '2',
  '--vocab',
  '32',
  '--dmodel',
  '16',
  '--layers',
  '1',
] as const;
