import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../../common/atomic-write.js';
import { CARD_JSON, parseModelCard } from '../model-io.js';

/** Merges evaluation figures into a model's card.json (atomically rewritten). */
export async function updateCardMetrics(
  dir: string,
  metrics: Record<string, number>,
  evaluation: Record<string, number>,
): Promise<void> {
  const path = join(dir, CARD_JSON);
  const card = parseModelCard(JSON.parse(await readFile(path, 'utf8')) as unknown, path);
  const finite = Object.fromEntries(Object.entries(metrics).filter(([, v]) => Number.isFinite(v)));
  const updated = {
    ...card,
    data: { ...card.data, evaluation: { split: 'heldout', ...evaluation } },
    metrics: { ...card.metrics, ...finite },
  };
  // Asked for by --write-cards: updating the card of the model being evaluated is the point.
  await writeFileAtomic(path, `${JSON.stringify(updated, null, 2)}\n`, { overwrite: true });
}
