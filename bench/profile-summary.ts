// Summarises a .cpuprofile: the functions and modules with the most self time.
//   node --import tsx bench/profile-summary.ts FILE.cpuprofile [--top 30] [--from-end MS] [--to-end MS] [--json]
import { parseArgs } from 'node:util';
import { formatSummary, readProfile, summarize } from './lib/cpuprofile.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    top: { type: 'string', default: '30' },
    'from-end': { type: 'string' },
    'to-end': { type: 'string' },
    json: { type: 'boolean', default: false },
  },
});

if (positionals.length === 0) {
  process.stderr.write('usage: profile-summary.ts FILE.cpuprofile [--top N] [--from-end MS] [--to-end MS] [--json]\n');
  process.exit(2);
}

for (const file of positionals) {
  const summary = summarize(readProfile(file), {
    top: Number(values.top),
    ...(values['from-end'] === undefined ? {} : { fromEndMs: Number(values['from-end']) }),
    ...(values['to-end'] === undefined ? {} : { toEndMs: Number(values['to-end']) }),
  });
  process.stdout.write(values.json ? `${JSON.stringify(summary, null, 2)}\n` : `${formatSummary(summary, file, 20)}\n\n`);
}
