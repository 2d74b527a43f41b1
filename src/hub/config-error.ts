/** A config problem, worded as "FILE: FIELD: PROBLEM" so a person can fix it without guessing. */
export class ConfigError extends Error {
  readonly problems: { field: string; problem: string }[];

  constructor(readonly file: string, problems: { field: string; problem: string }[]) {
    super(problems.map((p) => `${file}: ${p.field || '(top level)'}: ${p.problem}`).join('\n'));
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/** `["servers", 1, "port"]` → `servers[1].port`. */
export function fieldPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out ? `.${String(part)}` : String(part);
  }
  return out;
}
