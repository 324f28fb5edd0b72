import type { Command } from 'commander';
import type { ImageBrief, ImageView } from '../api/ImageRecord.ts';
import type { ImagePage } from '../client/VisorClient.ts';
import type { CliSession } from './CliSession.ts';
import { filtersToQuery, parseAssignment } from './fieldAssignments.ts';
import { parseNonNegativeInteger } from './optionParsers.ts';
import { imageSheet } from './output/imageSheet.ts';
import { imageTable } from './output/imageTable.ts';

interface ListingOptions {
  sort?: string;
  dir?: string;
  limit?: number;
  all?: boolean;
}

/** `list` and `detail` differ only in how much of each record they fetch and show. */
export function registerListing(program: Command, session: CliSession, detail: boolean): void {
  program
    .command(detail ? 'detail' : 'list')
    .description(detail ? 'list images with all their fields' : 'list images (brief fields)')
    .argument('[filters...]', 'field=value filters, e.g. architecture=x86_64 tag=lts property.os=linux size_max=1000000')
    .option('--sort <field>', 'sort by this field (default created_at)')
    .option('--dir <direction>', 'asc or desc (default desc)')
    .option('--limit <n>', 'images per page (default 100, max 1000)', parseNonNegativeInteger)
    .option('--all', 'follow pages until every matching image is listed')
    .action(async (filters: string[], options: ListingOptions) => {
      const query = filtersToQuery(filters.map(parseAssignment));
      if (options.sort !== undefined) query['sort'] = options.sort;
      if (options.dir !== undefined) query['dir'] = options.dir;
      if (options.limit !== undefined) query['limit'] = options.limit;
      const client = await session.visor();

      let page: ImagePage<ImageBrief | ImageView>;
      if (options.all) {
        page = { images: [] };
        for await (const image of detail ? client.listAll(query, { detail: true }) : client.listAll(query)) {
          page.images.push(image);
        }
      } else {
        page = detail ? await client.detail(query) : await client.list(query);
      }
      const output = session.output;
      output.result(page, () => (detail ? imageSheets(page.images as ImageView[]) : imageTable(page.images)));
      if (page.next !== undefined) {
        output.note(`more images: use --all, or marker=${page.images.at(-1)?.id ?? ''} for the next page`);
      }
    });
}

function imageSheets(images: readonly ImageView[]): string {
  return images.length === 0 ? 'no images' : images.map(imageSheet).join('\n\n');
}
