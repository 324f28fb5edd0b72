import { routeNameOf } from '../src/api/routes.ts';
import type { ServiceMetrics } from '../src/tracking/ServiceMetrics.ts';
import type { Exchange } from './auditTrail.ts';

/** Counts an answered request by its route table name, method and status, and times it. */
export function requestObserver(metrics: ServiceMetrics): (x: Exchange) => void {
  return (x) => metrics.request(routeNameOf(x.method, x.route, x.path), x.method, x.status, (performance.now() - x.started) / 1000);
}
