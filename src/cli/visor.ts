#!/usr/bin/env node
import { enableCompileCache } from 'node:module';

// The CLI alone, without the daemon's `serve` (the `visor` program is daemon/visor.ts): what git's
// merge driver runs, and what tests run. Node keeps compiled code on disk (its compile cache).
enableCompileCache();
const { runVisor } = await import('./program.ts');
process.exitCode = await runVisor(process.argv.slice(2));
