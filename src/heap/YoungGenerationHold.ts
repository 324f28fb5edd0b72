import { setFlagsFromString } from 'node:v8';

/** V8's own default for --semi-space-growth-factor (Node 24, V8 13.6): what a release restores. */
const DEFAULT_GROWTH_FACTOR = 2;

let holders = 0;

/**
 * Keeps V8's young generation at the size it has while a catalogue loads or an image's bytes are
 * copied. Loading 100,000 records allocates them all young and most survive, and V8 answers
 * survivors by doubling the young generation up to its ceiling (2 × 64 MiB without pointer
 * compression): ~100 MB that stay resident after the load, until an idle-time collection minutes
 * later. Held, the records go to the old generation sooner instead, for no more CPU (measured: first
 * start RSS at ready ~390 → ~260 MB). A transfer's body chunks are queued while the dead ones are
 * scavenged (DeadChunks.ts), and the young generation grew from 16 to 32 MiB during an upload: memory
 * the downloads after it then filled. Returns the release; the default growth comes back once every
 * holder has released (loads of the two catalogues overlap, so do transfers), so requests afterwards
 * size the young generation as V8 would.
 */
export function holdYoungGeneration(): () => void {
  if (holders++ === 0) setFlagsFromString('--semi-space-growth-factor=1');
  let released = false;
  return () => {
    if (released) return;
    released = true;
    if (--holders === 0) setFlagsFromString(`--semi-space-growth-factor=${DEFAULT_GROWTH_FACTOR}`);
  };
}
