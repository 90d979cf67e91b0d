/**
 * Runs the `rampart` command line from the sources under tsx, so tests can start real gateway
 * processes without a build: `tsx test/helpers/cli-entry.ts start --config FILE`.
 */
import { main } from '../../src/cli/main.js';

const code = await main(process.argv);
if (code !== 0) process.exit(code);
