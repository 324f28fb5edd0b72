import { Option } from 'commander';
import { DIGEST_ALGORITHMS } from '../client/Checksum.ts';

/** --algorithm and --checksum, shared by `upload` and `add --file`. */
export function digestOptions(): Option[] {
  return [
    new Option('--algorithm <algorithm>', 'digest the daemon records').choices(DIGEST_ALGORITHMS),
    new Option('--checksum <alg:hex>', 'expected digest; the upload fails if the file does not match'),
  ];
}
