import { ensuredService } from '../helpers/testService.ts';

/** The tests' own clamd (ensure-clamd.sh): its socket, and its StreamMaxLength in bytes. */
export interface TestClamd {
  socket: string;
  maxStreamBytes: number;
  /** Its MaxFileSize (and MaxScanSize): past it, clamd reports Heuristics.Limits.Exceeded (AlertExceedsMax). */
  maxFileBytes: number;
}

let running: Promise<TestClamd> | undefined;

/**
 * The real clamd of the tests, with a database that knows the EICAR test file only: started by
 * ensure-clamd.sh unless `npm test` already did, and safe to call from several test files at once.
 */
export function testClamd(): Promise<TestClamd> {
  running ??= (async () => {
    const state = await ensuredService(new URL('./ensure-clamd.sh', import.meta.url));
    const bytes = (text: string) => {
      const m = /^(\d+)([KM]?)$/.exec(text)!;
      return Number(m[1]) * (m[2] === 'M' ? 2 ** 20 : m[2] === 'K' ? 2 ** 10 : 1);
    };
    return { socket: state['CLAMD_SOCKET']!, maxStreamBytes: bytes(state['CLAMD_MAX_STREAM']!), maxFileBytes: bytes(state['CLAMD_MAX_FILE'] ?? state['CLAMD_MAX_STREAM']!) };
  })();
  return running;
}

/**
 * The EICAR anti-virus test file (68 bytes), which every engine reports and which harms nothing. Kept
 * as hex so that no file of the tree holds it: a scanner on a developer's machine would flag the
 * repository.
 */
export const EICAR = Buffer.from(
  '58354f2150254041505b345c505a58353428505e2937434329377d2445494341522d5354414e444152442d414e544956495255532d544553542d46494c452124482b482a',
  'hex',
);

/** A raw disk of `size` bytes (whole sectors) carrying the EICAR file at `at`: infected anywhere in a file, not just at its start. */
export function infectedDisk(size = 1 << 20, at = 300_000): Buffer {
  const disk = Buffer.alloc(size);
  EICAR.copy(disk, at);
  return disk;
}

/** The signature name clamd reports for EICAR with the tests' database (.ndb in ensure-clamd.sh; clamd adds .UNOFFICIAL). */
export const EICAR_SIGNATURE = /^Visor-Test\.EICAR/;

/** A socket nothing listens on: the engine is down. */
export const NO_CLAMD = '/nonexistent/visor-test/clamd.sock';
