import { ServiceMetrics } from '../tracking/ServiceMetrics.ts';
import type { VisorCore } from './VisorCore.ts';

/** The daemon's metrics, fed by the core: commits and syncs as they happen, sizes read at scrape time. */
export function coreMetrics(core: VisorCore): ServiceMetrics {
  const authenticator = core.accessControl.authenticator;
  const metrics = new ServiceMetrics({
    indexSize: () => core.images.size,
    uploadsInFlight: () => core.uploads.inFlightCount,
    keyChecks: () => authenticator.keyChecks?.() ?? { running: 0, queued: 0 },
    listPages: () => ({ ...core.pages.sent, bytes: core.pages.keptBytes }),
  });
  core.catalogs.shared.writer.commitObserver = (seconds) => metrics.commit('shared', seconds);
  core.catalogs.of('private').writer.commitObserver = (seconds) => metrics.commit('private', seconds);
  core.follower.syncObserver = (result) => metrics.sync(result);
  return metrics;
}
