// Worker entry used only when the sweep runs from TypeScript sources (vitest): Node 20 worker
// threads cannot load .ts, so this loads point-worker.ts through tsx. The built CLI uses
// dist/sweep/point-worker.js directly.
import { tsImport } from 'tsx/esm/api';

const loaded = tsImport('./point-worker.ts', import.meta.url);

export default async function runPointTasks(tasks) {
  const module = await loaded;
  return module.default(tasks);
}
