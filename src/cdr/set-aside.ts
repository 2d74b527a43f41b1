// Bodies that are not CDR documents (not XML, no <records session>, cut short because too
// large) are kept in a folder of their own, one file each, for a person to look at: the CMS was
// told 200 (refused, it would re-send them forever), so this file is the only trace left.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { IntakeBody } from './intake.js';

export class SetAside {
  #made = false;

  constructor(readonly folder: string) {}

  /** Writes the body; returns its file. */
  async keep(body: IntakeBody): Promise<string> {
    if (!this.#made) {
      await mkdir(this.folder, { recursive: true, mode: 0o700 });
      this.#made = true;
    }
    const stamp = body.receivedAt.replace(/[:.]/g, '-');
    const file = path.join(this.folder, `${stamp}-${encodeURIComponent(body.server)}-${body.id}.xml`);
    await writeFile(file, body.body, { mode: 0o600 });
    return file;
  }
}
