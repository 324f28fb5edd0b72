import type Router from '@koa/router';
import { ROUTES } from '../../src/api/routes.ts';
import { on, principal } from '../route.ts';
import { invalidField } from '../../src/errors/VisorError.ts';
import type { UsageReporter } from '../../src/tracking/UsageReporter.ts';

const PARAMS: Record<string, number> = { unused_days: 90, top: 10, activity_days: 30 };

/** GET /report?unused_days=90&top=10&activity_days=30: usage statistics, for admins. */
export function reportRoutes(router: Router, reports: UsageReporter): void {
  on(router, ROUTES.usageReport, async (ctx) => {
    const values: Record<string, number> = { ...PARAMS };
    for (const [name, raw] of Object.entries(ctx.query)) {
      if (!Object.hasOwn(PARAMS, name)) throw invalidField(name, 'known-parameter', `one of ${Object.keys(PARAMS).join(', ')}`, `${name}: unknown parameter`);
      if (typeof raw !== 'string' || !/^\d{1,6}$/.test(raw)) throw invalidField(name, 'type', 'an integer from 0 to 100000');
      values[name] = Number(raw);
    }
    ctx.body = await reports.report(principal(ctx), { unusedDays: values['unused_days']!, top: values['top']!, activityDays: values['activity_days']! });
  });
}
