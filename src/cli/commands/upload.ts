import type { Command } from 'commander';
import type { DigestAlgorithm } from '../../client/Checksum.ts';
import type { CliSession } from '../CliSession.ts';
import { digestOptions } from '../digestOptions.ts';
import { imageSheet } from '../output/imageSheet.ts';
import { assertReadableFile, uploadWithProgress } from '../uploadWithProgress.ts';

interface UploadOptions {
  algorithm?: DigestAlgorithm;
  checksum?: string;
}

export function registerUploadCommand(program: Command, session: CliSession): void {
  const command = program
    .command('upload')
    .description("upload the file of a registered image ('-' reads stdin)")
    .argument('<id>', 'image id')
    .argument('<file>', "file to upload, or '-' for stdin");
  for (const option of digestOptions()) command.addOption(option);
  command.action(async (id: string, file: string, options: UploadOptions) => {
    await assertReadableFile(file);
    const image = await uploadWithProgress(await session.visor(), id, { file, ...options });
    session.output.result(image, () => imageSheet(image));
  });
}
