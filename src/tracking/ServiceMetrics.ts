import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Principal } from '../auth/Principal.ts';
import { assertAdmin } from '../auth/callerRules.ts';
import type { SyncResult } from '../sync/UpstreamFollower.ts';

/** What the metrics read at scrape time, never on a request's path. */
export interface MetricSources {
  /** Records in the catalogue index. */
  indexSize: () => number;
  /** Uploads under way. */
  uploadsInFlight: () => number;
  /** Slow key checks (a key not seen since the start) running and queued. */
  keyChecks: () => { running: number; queued: number };
  /** List pages sent from what was kept and made afresh, and what the kept ones hold. */
  listPages: () => { kept: number; made: number; bytes: number };
}

/** Latency buckets (seconds): a cached read is ~0.1 ms, a commit tens of ms, a large transfer minutes. */
const REQUEST_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];
const COMMIT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/**
 * The daemon's Prometheus metrics (GET /metrics, admins only). Every label takes values from a set
 * the code or the configuration bounds (route names of the route table, HTTP statuses, store and
 * upstream names, sync outcomes), never from what a client sends, so no request can grow the series.
 * The per-request cost is a map look-up, an increment and one histogram observation (~0.5 µs here).
 */
export class ServiceMetrics {
  readonly registry = new Registry();
  private readonly latency: Histogram<'route' | 'method'>;
  private readonly storeBytes: Counter<'store' | 'direction'>;
  private readonly commits: Counter<'catalog'>;
  private readonly commitLatency: Histogram<'catalog'>;
  private readonly syncs: Counter<'upstream' | 'outcome'>;
  private readonly syncFailures: Counter<'upstream'>;
  private readonly lastGoodSync: Gauge<'upstream'>;
  /**
   * Requests by route, method and status: counted here in plain numbers and handed to prom-client at
   * scrape time (its own inc() checks and hashes the labels on every call, ~0.5 µs); the latency
   * child of each series is made once.
   */
  private readonly tally = new Map<string, { labels: { route: string; method: string; status: string }; count: number; latency: Histogram.Internal<'route' | 'method'> }>();

  constructor(sources: MetricSources) {
    const registers = [this.registry];
    const tally = this.tally;
    new Counter({
      name: 'visor_http_requests_total',
      help: 'HTTP requests answered, by route (the route table name), method and status',
      labelNames: ['route', 'method', 'status'],
      registers,
      collect() {
        this.reset();
        for (const series of tally.values()) this.inc(series.labels, series.count);
      },
    });
    this.latency = new Histogram({ name: 'visor_http_request_duration_seconds', help: 'Time from a request\'s arrival to the end of its answer, by route and method', labelNames: ['route', 'method'], buckets: REQUEST_BUCKETS, registers });
    this.storeBytes = new Counter({ name: 'visor_store_bytes_total', help: 'Image bytes by store: in (uploads stored whole) and out (downloads sent to clients)', labelNames: ['store', 'direction'], registers });
    new Gauge({ name: 'visor_uploads_in_flight', help: 'Uploads under way', registers, collect() { this.set(sources.uploadsInFlight()); } });
    new Gauge({
      name: 'visor_key_checks',
      help: 'Slow API key checks (a key first seen since the start) running and queued for their turn; a queue that stays long is a key flood',
      labelNames: ['state'],
      registers,
      collect() {
        const { running, queued } = sources.keyChecks();
        this.set({ state: 'running' }, running);
        this.set({ state: 'queued' }, queued);
      },
    });
    new Counter({
      name: 'visor_list_pages_total',
      help: 'Pages of GET /images and /images/detail: sent from what was kept, or made afresh',
      labelNames: ['source'],
      registers,
      collect() {
        const { kept, made } = sources.listPages();
        this.reset();
        this.inc({ source: 'kept' }, kept);
        this.inc({ source: 'made' }, made);
      },
    });
    new Gauge({ name: 'visor_list_pages_kept_bytes', help: 'What the kept list pages hold (their bytes, keys and records, as counted against the bound)', registers, collect() { this.set(sources.listPages().bytes); } });
    new Gauge({ name: 'visor_catalog_index_images', help: 'Image records in the catalogue index', registers, collect() { this.set(sources.indexSize()); } });
    this.commits = new Counter({ name: 'visor_catalog_commits_total', help: 'Commits made by the daemon, by catalogue (shared or private); a commit may carry several writes', labelNames: ['catalog'], registers });
    this.commitLatency = new Histogram({ name: 'visor_catalog_commit_duration_seconds', help: 'Time to write and commit one batch of changes', labelNames: ['catalog'], buckets: COMMIT_BUCKETS, registers });
    this.syncs = new Counter({ name: 'visor_upstream_syncs_total', help: 'Syncs from upstream catalogues, by upstream and outcome (up-to-date, fast-forward, merge, adopted, refused, failed)', labelNames: ['upstream', 'outcome'], registers });
    this.syncFailures = new Counter({ name: 'visor_upstream_sync_failures_total', help: 'Syncs that failed or were refused, by upstream', labelNames: ['upstream'], registers });
    this.lastGoodSync = new Gauge({ name: 'visor_upstream_last_success_timestamp_seconds', help: 'When each upstream last synced without failure (Unix time): time() minus this is the lag', labelNames: ['upstream'], registers });
    collectDefaultMetrics({ register: this.registry, prefix: 'visor_' });
  }

  /** The text exposition format, for admins only: the figures describe every user's activity. */
  async exposition(who: Principal | undefined): Promise<{ contentType: string; text: string }> {
    assertAdmin(who, 'read the metrics');
    return { contentType: this.registry.contentType, text: await this.registry.metrics() };
  }

  /** One answered request; `route` is a route table name (or another name the code bounds). */
  request(route: string, method: string, status: number, seconds: number): void {
    const key = `${route} ${method} ${status}`;
    let series = this.tally.get(key);
    if (series === undefined) {
      series = { labels: { route, method, status: String(status) }, count: 0, latency: this.latency.labels(route, method) };
      this.tally.set(key, series);
    }
    series.count += 1;
    series.latency.observe(seconds);
  }

  storeTransfer(store: string, direction: 'in' | 'out', bytes: number): void {
    if (bytes > 0) this.storeBytes.labels(store, direction).inc(bytes);
  }

  commit(catalog: 'shared' | 'private', seconds: number): void {
    this.commits.labels(catalog).inc();
    this.commitLatency.labels(catalog).observe(seconds);
  }

  sync(result: Pick<SyncResult, 'upstream' | 'mode'>): void {
    this.syncs.labels(result.upstream, result.mode).inc();
    if (result.mode === 'failed' || result.mode === 'refused') this.syncFailures.labels(result.upstream).inc();
    else this.lastGoodSync.labels(result.upstream).set(Date.now() / 1000);
  }
}
