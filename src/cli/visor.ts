#!/usr/bin/env node
// First, before anything that needs Node 24: under an older Node it explains and exits.
import './requireNode.ts';

// The CLI alone, without the daemon's `serve` (the `visor` program is daemon/visor.ts): what git's
// merge driver runs, and what tests run. Node keeps compiled code on disk (its compile cache).
const { enableCompileCache } = await import('node:module');
enableCompileCache();
const { runVisor } = await import('./program.ts');
process.exitCode = await runVisor(process.argv.slice(2));
