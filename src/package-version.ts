// The package's version, from its own package.json (dist/package-version.js → ../package.json,
// in the repository and in an installed package alike): `--version` and the OpenAPI document.
import { readFileSync } from 'node:fs';

export const PACKAGE_VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
