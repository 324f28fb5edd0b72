import type { Command } from 'commander';
import type { CliSession } from '../CliSession.ts';
import { parseNonNegativeInteger } from '../optionParsers.ts';
import { usageReportText } from '../output/usageReportText.ts';

interface ReportOptions {
  unusedDays: number;
  top: number;
  activityDays: number;
}

/** `visor report`: usage statistics for administrators (the paper's tracking component). */
export function registerReportCommand(program: Command, session: CliSession): void {
  program
    .command('report')
    .description('usage statistics (admins): downloads, unused images, activity per user, storage per store and owner')
    .option('--unused-days <days>', 'list images not downloaded for this many days', parseNonNegativeInteger, 90)
    .option('--top <n>', 'length of the most and least downloaded lists', parseNonNegativeInteger, 10)
    .option('--activity-days <days>', 'per-user activity over this many days of the audit log', parseNonNegativeInteger, 30)
    .action(async (options: ReportOptions) => {
      const report = await (await session.visor()).report({ unusedDays: options.unusedDays, top: options.top, activityDays: options.activityDays });
      session.output.result(report, () => usageReportText(report));
    });
}
