import type { ImageRecord, ImageStatus } from '../api/ImageRecord.ts';

/** Every status a Glance v2 image can have (its domain model's machine). */
export const GLANCE_STATUSES = ['queued', 'saving', 'active', 'killed', 'deleted', 'pending_delete', 'deactivated', 'uploading', 'importing'] as const;
export type GlanceStatus = (typeof GLANCE_STATUSES)[number];

/**
 * VISOR's statuses as Glance names them: registered without a file is `queued`, a file on its way in
 * `saving`, available `active`. A failed upload is `killed` (Glance's name for it), though VISOR, like
 * today's Glance, takes a new upload of it. An available image an admin deactivated is `deactivated`.
 */
const GLANCE_STATUS_OF: Record<ImageStatus, GlanceStatus> = {
  locked: 'queued',
  uploading: 'saving',
  available: 'active',
  error: 'killed',
};

/**
 * An import's marks as Glance shows them: a file being staged or staged is `uploading`, an import
 * under way `importing`, a failed import `queued` again (Glance's import failure; a plain upload's
 * failure stays `killed`).
 */
const GLANCE_STATUS_OF_IMPORT: Record<NonNullable<ImageRecord['import_state']>['state'], GlanceStatus> = {
  staging: 'uploading',
  staged: 'uploading',
  importing: 'importing',
  failed: 'queued',
};

export function glanceStatusOf(r: Pick<ImageRecord, 'status' | 'deactivated' | 'import_state'>): GlanceStatus {
  if (r.deactivated !== undefined) return 'deactivated';
  if (r.import_state !== undefined && r.status !== 'available') return GLANCE_STATUS_OF_IMPORT[r.import_state.state];
  return GLANCE_STATUS_OF[r.status];
}
