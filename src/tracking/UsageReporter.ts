import type { Principal } from '../auth/Principal.ts';
import type { ImageRecord } from '../api/ImageRecord.ts';
import { invalidField } from '../errors/VisorError.ts';
import { assertAdmin } from '../auth/callerRules.ts';
import type { AccessStats } from './AccessStats.ts';
import type { AuditLog } from './AuditLog.ts';
import { readAuditLog } from './readAuditLog.ts';
import { buildUsageReport, type UsageInput, type UsageReport, type UsageReportOptions } from './UsageReport.ts';

export interface UsageReporterOptions {
  images: () => Iterable<ImageRecord>;
  stats: AccessStats;
  audit: AuditLog;
  auditDir: string;
  expiring?: UsageInput['expiring'];
}

/** `visor report`: usage statistics over every image and the audit log, for admins only. */
export class UsageReporter {
  private readonly o: UsageReporterOptions;

  constructor(options: UsageReporterOptions) {
    this.o = options;
  }

  async report(who: Principal | undefined, options: UsageReportOptions): Promise<UsageReport> {
    assertAdmin(who, 'read usage reports');
    for (const [field, value] of Object.entries({ unused_days: options.unusedDays, top: options.top, activity_days: options.activityDays })) {
      if (!Number.isSafeInteger(value) || value < 0 || value > 100_000) throw invalidField(field, 'range', 'an integer from 0 to 100000');
    }
    // What was appended just before (this very request's predecessors) is part of the report.
    await this.o.audit.flush();
    return buildUsageReport({ images: this.o.images(), stats: (id) => this.o.stats.get(id), audit: readAuditLog(this.o.auditDir), ...(this.o.expiring ? { expiring: this.o.expiring } : {}) }, options);
  }
}
