// The receiver's token when the config gives none: made once, kept in the state folder (mode
// 0600), so that the URL registered on each CMS stays valid across restarts.
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';

const TOKEN_FILE = 'cdr-token';

export async function loadOrCreateToken(stateDir: string): Promise<string> {
  const file = path.join(stateDir, TOKEN_FILE);
  try {
    const kept = (await readFile(file, 'utf8')).trim();
    if (kept.length >= 16) return kept;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`cannot read the CDR receiver's token ${file} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  await mkdir(stateDir, { recursive: true });
  const token = randomBytes(24).toString('base64url');
  // 'wx': two processes racing cannot both write one (the loser reads the winner's).
  try {
    await writeFile(file, `${token}\n`, { mode: 0o600, flag: 'wx' });
    return token;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return (await readFile(file, 'utf8')).trim();
    throw error;
  }
}
