// bin/cms-events: the commands of the contract.
import { Command, CommanderError } from 'commander';
import { PACKAGE_VERSION } from '../package-version.js';
import { controlCommand } from './control-command.js';
import { demoCommand } from './demo-command.js';
import { runCommand } from './run-command.js';
import { simulateCommand } from './simulate-command.js';
import { stateCommand } from './state-command.js';
import { tailCommand } from './tail-command.js';

const program = new Command('cms-events')
  .description('Follow the real-time Events feed of many Cisco Meeting Servers at once')
  .version(PACKAGE_VERSION, '-V, --version', 'print the version and exit')
  .showHelpAfterError()
  .exitOverride()
  .addCommand(runCommand())
  .addCommand(simulateCommand())
  .addCommand(tailCommand())
  .addCommand(stateCommand())
  .addCommand(controlCommand())
  .addCommand(demoCommand());

for (const command of program.commands) command.exitOverride();

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    // --help and --version exit 0; usage mistakes exit 2, like an invalid config.
    process.exit(error.exitCode === 0 ? 0 : 2);
  }
  process.stderr.write(`cms-events: ${(error as Error).stack ?? error}\n`);
  process.exit(1);
}
