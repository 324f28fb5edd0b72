#!/usr/bin/env node
import { enableCompileCache } from 'node:module';

// Node keeps compiled code on disk (its compile cache): later runs of the daemon, the CLI and the
// hooks skip most of the module compilation that a start otherwise spends.
enableCompileCache();
const { runVisor } = await import('./program.ts');
process.exitCode = await runVisor(process.argv.slice(2));
