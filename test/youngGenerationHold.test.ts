import test from 'ava';
import { holdYoungGeneration } from '../src/heap/YoungGenerationHold.ts';
import { youngGenerationSize } from './helpers/heap.ts';

/** Allocates ~30 MB of small objects that all survive, as a catalogue's load does. */
function loadLike(): unknown[] {
  const kept: unknown[] = [];
  for (let i = 0; i < 300_000; i++) kept.push({ id: `record-${i}`, created_at: new Date(i).toISOString(), size: i });
  return kept;
}

// Serial and in this order: the young generation only grows, so the held load must come first.
test.serial('while a load holds it, the young generation does not grow, however much survives', (t) => {
  const release = holdYoungGeneration();
  const inner = holdYoungGeneration();
  const before = youngGenerationSize();
  const first = loadLike();
  inner();
  // The other load (the second catalogue) still holds it.
  const second = loadLike();
  t.true(youngGenerationSize() <= before, `${youngGenerationSize()} > ${before}`);
  release();
  // A release counts once, however often it is called.
  release();
  t.is(first.length + second.length, 600_000);
});

test.serial('once every holder has released it, survivors grow the young generation again, as V8 sizes it', (t) => {
  const before = youngGenerationSize();
  const kept = loadLike();
  t.true(youngGenerationSize() > before, `${youngGenerationSize()} <= ${before}`);
  t.is(kept.length, 300_000);
});
