/**
 * `npm run bench [filter]`: runs every `test/bench/*.bench.ts` (or those whose name contains the
 * filter) one after another. Each bench file exports `default async function (): Promise<void>`
 * that measures and prints its own table with ./harness.ts.
 */
import { readdirSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

const dir = fileURLToPath(new URL('.', import.meta.url));
const filter = process.argv[2] ?? '';
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.bench.ts') && f.includes(filter))
  .sort();
if (files.length === 0) {
  console.error(`bench: no benchmark matches "${filter}"`);
  process.exit(2);
}
for (const file of files) {
  const mod = (await import(pathToFileURL(`${dir}/${file}`).href)) as { default: () => Promise<void> };
  console.log(`\n# ${file}`);
  await mod.default();
}
