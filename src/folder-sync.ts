// A new or renamed file survives a power loss only once its folder's entry is on disk too:
// fsync on the folder itself (Linux allows opening a folder read-only for that).
import { open } from 'node:fs/promises';

export async function syncFolder(folder: string): Promise<void> {
  const handle = await open(folder, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
