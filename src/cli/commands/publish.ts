import type { Command } from 'commander';
import type { CliSession } from '../CliSession.ts';
import { collect } from '../optionParsers.ts';

interface PublishFlags {
  name: string;
  arch?: string;
  disk?: string;
  series?: string;
  tag: string[];
  description?: string;
  repo: string;
  toDaemon?: boolean;
  storeDir?: string;
  storeName: string;
  owner?: string;
  remote: string;
  branch?: string;
  push: boolean;
}

export function registerPublishCommand(program: Command, session: CliSession): void {
  program
    .command('publish')
    .description('upload a disk, commit its metadata on a new branch from the upstream main (your checkout is left alone), and push it for a pull request')
    .argument('<file>', 'disk image to publish')
    .requiredOption('--name <name>', 'image name')
    .option('--arch <architecture>', 'architecture, e.g. x86_64')
    .option('--disk <format>', 'disk format, e.g. qcow2')
    .option('--series <series>', 'series the image is a version of')
    .option('--tag <tag>', 'tag (repeatable)', collect, [])
    .option('--description <markdown>', 'description')
    .option('--repo <dir>', 'the publisher\'s clone of the catalogue', '.')
    .option('--to-daemon', 'upload through the VISOR daemon given by --url/VISOR_URL (it registers the image too)')
    .option('--store-dir <dir>', 'or write the disk straight into this filesystem store folder')
    .option('--store-name <name>', 'store name recorded in the location', 'fs')
    .option('--owner <owner>', 'owner recorded with --store-dir (default: git user.name)')
    .option('--remote <remote>', 'remote to push the branch to', 'origin')
    .option('--branch <branch>', 'branch name (default publish/<name>-<id>)')
    .option('--no-push', 'commit on the branch but do not push')
    .action(async (file: string, flags: PublishFlags) => {
      const { publish } = await import('../../publish/Publisher.ts');
      const { GitRunner } = await import('../../git/GitRunner.ts');
      const metadata = {
        name: flags.name,
        ...(flags.arch ? { architecture: flags.arch } : {}),
        ...(flags.disk ? { disk: flags.disk } : {}),
        ...(flags.series ? { series: flags.series } : {}),
        ...(flags.tag.length ? { tags: flags.tag } : {}),
        ...(flags.description ? { description: flags.description } : {}),
      };
      let target;
      if (flags.storeDir !== undefined) {
        const owner = flags.owner ?? ((await new GitRunner(flags.repo).run(['config', 'user.name']).catch(() => ({ stdout: '' }))).stdout.trim() || 'publisher');
        target = { storeDir: flags.storeDir, storeName: flags.storeName, owner };
      } else {
        target = { daemon: await session.visor() };
      }
      const result = await publish({ repo: flags.repo, disk: file, metadata, target, remote: flags.remote, push: flags.push, ...(flags.branch ? { branch: flags.branch } : {}) });
      session.output.result(result, () =>
        [
          `published ${result.record.id} (${result.record.size ?? 0} bytes, ${result.record.checksum ?? ''})`,
          `committed ${result.file} on branch ${result.branch} (${result.commit.slice(0, 12)})`,
          result.pushed ? `pushed to ${flags.remote}: open a pull request from ${result.branch} into main` : `not pushed: git push ${flags.remote} ${result.branch}, then open a pull request`,
          ...(flags.storeDir === undefined ? [`the daemon holds the image privately until the pull request is merged: then visor update ${result.record.id} access=public`] : []),
        ].join('\n'),
      );
    });
}
