import { readFileSync } from 'node:fs';

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

export interface Metrics {
  /** Every metric as a nested object: "reads.large.ready_ms" → data.reads.large.ready_ms. */
  data: { [k: string]: Json };
  get(path: string): Json | undefined;
  /** A finite number at that path, or undefined. */
  num(path: string): number | undefined;
}

/**
 * Reads the benchmark scripts' metrics file: one {"key","value"} JSON line each, keys dotted, a key
 * ending in "[]" appending to a list (errors[]). Unreadable lines are reported and skipped.
 */
export function loadMetrics(path: string, onBadLine: (line: string) => void): Metrics {
  const data: { [k: string]: Json } = {};
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    let entry: { key: string; value: Json };
    try {
      entry = JSON.parse(line) as { key: string; value: Json };
    } catch {
      onBadLine(line);
      continue;
    }
    const parts = entry.key.split('.');
    let node = data;
    for (const p of parts.slice(0, -1)) {
      const next = node[p];
      if (next === undefined || next === null || typeof next !== 'object' || Array.isArray(next)) node[p] = {};
      node = node[p] as { [k: string]: Json };
    }
    const last = parts[parts.length - 1] as string;
    if (last.endsWith('[]')) {
      const name = last.slice(0, -2);
      const list = node[name];
      if (Array.isArray(list)) list.push(entry.value);
      else node[name] = [entry.value];
    } else node[last] = entry.value;
  }
  const get = (dotted: string): Json | undefined => {
    let node: Json | undefined = data;
    for (const p of dotted.split('.')) {
      if (node === null || node === undefined || typeof node !== 'object' || Array.isArray(node)) return undefined;
      node = node[p];
    }
    return node;
  };
  const num = (dotted: string): number | undefined => {
    const v = get(dotted);
    return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
  };
  return { data, get, num };
}
