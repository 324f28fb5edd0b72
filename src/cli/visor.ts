#!/usr/bin/env node
import { runVisor } from './program.ts';

process.exitCode = await runVisor(process.argv.slice(2));
