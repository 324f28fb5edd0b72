import { getHeapSpaceStatistics } from 'node:v8';

/** The bytes V8 has committed to this thread's young generation (both semi-spaces). */
export function youngGenerationSize(): number {
  return getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')!.space_size;
}
