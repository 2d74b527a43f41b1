// Child processes run the compiled code in dist/, the code the daemon ships, and take their
// types from src/. `npm run bench` builds first; with `--only` a stale dist/ is reported.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export async function loadDist<T>(path: string): Promise<T> {
  const file = join(ROOT, 'dist', path);
  if (!existsSync(file)) throw new Error(`${file} is missing: run "npm run build" first`);
  return (await import(new URL(`file://${file}`).href)) as T;
}

function newestMtime(dir: string, suffix: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestMtime(path, suffix));
    else if (entry.name.endsWith(suffix)) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

/** A sentence when dist/ is missing or older than src/, else undefined. */
export function distProblem(): string | undefined {
  const main = join(ROOT, 'dist', 'cli', 'main.js');
  if (!existsSync(main)) return 'dist/ is missing: run "npm run build" (npm run bench does it)';
  const src = newestMtime(join(ROOT, 'src'), '.ts');
  const dist = newestMtime(join(ROOT, 'dist'), '.js');
  if (src > dist) return 'dist/ is older than src/: the figures are for the last build; run "npm run build"';
  return undefined;
}
