import type { Command } from 'commander';
import type { ImageInput } from '../../api/ImageRecord.ts';
import type { DigestAlgorithm } from '../../client/Checksum.ts';
import type { CliSession } from '../CliSession.ts';
import { digestOptions } from '../digestOptions.ts';
import { collect, collectKeyValue, parseNonNegativeInteger } from '../optionParsers.ts';
import { imageSheet } from '../output/imageSheet.ts';
import { assertReadableFile, uploadWithProgress } from '../uploadWithProgress.ts';

interface AddOptions {
  name: string;
  arch?: string;
  access?: string;
  disk?: string;
  type?: string;
  containerFormat?: string;
  series?: string;
  tag?: string[];
  property?: Record<string, string>;
  description?: string;
  minDisk?: number;
  minRam?: number;
  virtualSize?: number;
  kernel?: string;
  ramdisk?: string;
  store?: string;
  file?: string;
  algorithm?: DigestAlgorithm;
  checksum?: string;
}

export function registerAddCommand(program: Command, session: CliSession): void {
  const command = program
    .command('add')
    .description('register an image, and upload its file with --file')
    .requiredOption('--name <name>', 'image name')
    .option('--arch <architecture>', 'i386, x86_64, aarch64, ppc64le, s390x or riscv64')
    .option('--access <access>', 'public or private (default private)')
    .option('--disk <format>', 'disk format: raw, qcow2, iso, vmdk, ...')
    .option('--type <type>', 'none, kernel, ramdisk, amazon, openstack, ...')
    .option('--container-format <format>', 'bare, ova, ovf, docker, ...')
    .option('--series <series>', 'series this image is a version of')
    .option('--tag <tag>', 'a tag (repeatable)', collect)
    .option('--property <key=value>', 'a free-form property (repeatable)', collectKeyValue)
    .option('--description <markdown>', 'description')
    .option('--min-disk <GiB>', 'disk needed to boot', parseNonNegativeInteger)
    .option('--min-ram <MiB>', 'RAM needed to boot', parseNonNegativeInteger)
    .option('--virtual-size <bytes>', 'size of the virtual disk', parseNonNegativeInteger)
    .option('--kernel <id>', 'id of the kernel image')
    .option('--ramdisk <id>', 'id of the ramdisk image')
    .option('--store <name>', 'store instance to hold the file')
    .option('--file <path>', "upload this file ('-' for stdin) right after registering");
  for (const option of digestOptions()) command.addOption(option);
  command.action(async (options: AddOptions) => {
    if (options.file !== undefined) await assertReadableFile(options.file);
    const client = await session.visor();
    let image = await client.create(imageInput(options));
    if (options.file !== undefined) {
      try {
        image = await uploadWithProgress(client, image.id, { ...options, file: options.file });
      } catch (error) {
        // Keep the daemon's status code for the exit code, but say the record exists and how to finish.
        if (error instanceof Error) {
          error.message = `image ${image.id} was registered but its upload failed: ${error.message}` +
            ` (retry with: visor upload ${image.id} FILE)`;
        }
        throw error;
      }
    }
    session.output.result(image, () => imageSheet(image));
  });
}

function imageInput(options: AddOptions): ImageInput {
  const input: ImageInput = {
    name: options.name,
    architecture: options.arch,
    access: options.access as ImageInput['access'],
    disk: options.disk,
    type: options.type,
    container_format: options.containerFormat,
    series: options.series,
    tags: options.tag,
    properties: options.property,
    description: options.description,
    min_disk: options.minDisk,
    min_ram: options.minRam,
    virtual_size: options.virtualSize,
    kernel: options.kernel,
    ramdisk: options.ramdisk,
    store: options.store,
  };
  // Send only what was given, so the daemon applies its defaults to the rest.
  return Object.fromEntries(Object.entries(input).filter(([, value]) => value !== undefined)) as ImageInput;
}
