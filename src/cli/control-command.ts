// `cms-events control …`: acts on a call through a running daemon's HTTP control routes, the
// same ones the dashboard uses. The token comes from $CMS_EVENTS_CONTROL_TOKEN or --token-file,
// never from the command line (where `ps` would show it).
import { readFileSync } from 'node:fs';
import { Command, Option } from 'commander';

interface Common {
  url: string;
  server: string;
  call: string;
  tokenFile?: string;
}

const TOKEN_ENV = 'CMS_EVENTS_CONTROL_TOKEN';

function fail(message: string, code = 1): never {
  process.stderr.write(`cms-events control: ${message}\n`);
  process.exit(code);
}

function tokenOf(options: Common): string {
  if (options.tokenFile !== undefined) {
    try {
      const token = readFileSync(options.tokenFile, 'utf8').trim();
      if (token) return token;
      fail(`${options.tokenFile} is empty`, 2);
    } catch (error) {
      fail(`cannot read ${options.tokenFile} (${(error as NodeJS.ErrnoException).code ?? 'error'})`, 2);
    }
  }
  const token = process.env[TOKEN_ENV]?.trim();
  if (!token) fail(`no token: set ${TOKEN_ENV} or give --token-file`, 2);
  return token;
}

async function send(options: Common, method: string, path: string, body?: object): Promise<void> {
  const base = options.url.replace(/\/$/, '');
  const url = `${base}/api/servers/${encodeURIComponent(options.server)}/calls/${encodeURIComponent(options.call)}${path}`;
  let response: Response;
  try {
    response = await fetch(url, {
      method,
      headers: { authorization: `Bearer ${tokenOf(options)}`, ...(body && { 'content-type': 'application/json' }) },
      body: body && JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
    });
  } catch (error) {
    fail(`cannot reach the daemon at ${base} (${(error as Error).cause ? String((error as { cause: { code?: string } }).cause.code ?? (error as Error).message) : (error as Error).message})`);
  }
  const text = await response.text();
  if (response.ok) {
    process.stdout.write(text ? `${text}\n` : 'done\n');
    return;
  }
  let said = text;
  try {
    const parsed = JSON.parse(text) as { error?: string; code?: string };
    said = `${parsed.error ?? text}${parsed.code ? ` (${parsed.code})` : ''}`;
  } catch {
    // Not JSON: shown as it is.
  }
  fail(`HTTP ${response.status}: ${said}`);
}

function withCommon(command: Command, participant: boolean): Command {
  command
    .requiredOption('--server <name>', 'the server, as named in the daemon\'s config')
    .requiredOption('--call <id>', 'the call id')
    .addOption(new Option('--url <url>', 'the daemon\'s HTTP API').default('http://127.0.0.1:8080'))
    .option('--token-file <file>', `a file holding the control token (default: $${TOKEN_ENV})`)
    .exitOverride();
  if (participant) command.requiredOption('--participant <id>', 'the participant id');
  return command;
}

export function controlCommand(): Command {
  const control = new Command('control').description('act on calls through a running daemon (needs http.controlToken in its config)');
  const participantPath = (o: Common & { participant: string }) => `/participants/${encodeURIComponent(o.participant)}`;
  withCommon(control.command('mute').description('mute a participant\'s audio'), true).action((o) => send(o, 'PATCH', participantPath(o), { audioMuted: true }));
  withCommon(control.command('unmute').description('unmute a participant\'s audio'), true).action((o) => send(o, 'PATCH', participantPath(o), { audioMuted: false }));
  withCommon(control.command('drop').description('drop a participant (every call leg)'), true).action((o) => send(o, 'DELETE', participantPath(o)));
  withCommon(control.command('dial').description('dial an address into the call'), false)
    .requiredOption('--uri <address>', 'what to dial, e.g. room@example.com')
    .option('--name <name>', 'the name to show')
    .action((o: Common & { uri: string; name?: string }) => send(o, 'POST', '/participants', { uri: o.uri, ...(o.name && { name: o.name }) }));
  withCommon(control.command('lock').description('lock the call'), false).action((o) => send(o, 'PATCH', '', { locked: true }));
  withCommon(control.command('unlock').description('unlock the call'), false).action((o) => send(o, 'PATCH', '', { locked: false }));
  withCommon(control.command('end').description('end the call for everyone'), false).action((o) => send(o, 'DELETE', ''));
  return control;
}
