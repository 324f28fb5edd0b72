import { access, constants } from 'node:fs/promises';
import type { ImageView } from '../api/ImageRecord.ts';
import type { DigestAlgorithm } from '../client/Checksum.ts';
import type { VisorClient } from '../client/VisorClient.ts';
import { invalidInput } from './CliError.ts';
import { TransferProgressBar } from './output/TransferProgressBar.ts';

export interface UploadArguments {
  /** A path, or '-' for standard input. */
  file: string;
  algorithm?: DigestAlgorithm;
  checksum?: string;
}

/** Uploads with a progress bar on a terminal; shared by `upload` and `add --file`. */
export async function uploadWithProgress(client: VisorClient, id: string, args: UploadArguments): Promise<ImageView> {
  const bar = new TransferProgressBar('upload  ');
  try {
    return await client.upload(id, args.file === '-' ? process.stdin : args.file, {
      algorithm: args.algorithm,
      checksum: args.checksum,
      onProgress: bar.update,
    });
  } finally {
    bar.stop();
  }
}

/** Checked before anything is sent, so `add --file` with a typo registers nothing (exit 2). */
export async function assertReadableFile(file: string): Promise<void> {
  if (file === '-') return;
  try {
    await access(file, constants.R_OK);
  } catch (error) {
    throw invalidInput(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
}
