/**
 * The shapes the REST API answers with: what the daemon's core returns and what VisorClient gives
 * its callers. Both sides import them from here, so the client never imports the server's modules.
 * The image record (ImageRecord.ts) is both the catalogue's file format and the API's body.
 */
import type { ErrorKind, FieldProblem } from '../errors/VisorError.ts';

export type { ImageBrief, ImageInput, ImageLocation, ImageRecord, ImageStatus, ImageView } from './ImageRecord.ts';
export type { ErrorKind, FieldProblem };

/** Every error answer, from every route. */
export interface ErrorBody {
  error: { code: ErrorKind; message: string; problems?: FieldProblem[]; details?: unknown };
}

// --- history -------------------------------------------------------------------------------------

export interface FieldChange {
  field: string;
  old?: unknown;
  new?: unknown;
}

export interface HistoryEntry {
  commit: string;
  catalog: 'shared' | 'private';
  author: string;
  date: string;
  message: string;
  change: 'created' | 'updated' | 'deleted';
  fields: FieldChange[];
}

// --- accounts and grants -------------------------------------------------------------------------

/**
 * Roles of the paper's user management: admins manage accounts and may do everything; `sync` accounts
 * (a forge's or a scheduler's) may trigger upstream syncs and nothing else.
 */
export type Role = 'admin' | 'user' | 'sync';

/** A user as the API shows it: never a secret nor a hash. */
export interface UserView {
  name: string;
  role: Role;
  disabled: boolean;
  groups: string[];
  key_id: string;
  key_created_at: string;
  created_at: string;
}

export interface GroupView {
  name: string;
  members: string[];
  created_at: string;
}

/** A new or rotated key: shown once, in this answer only. */
export interface IssuedKey {
  user: UserView;
  key: string;
}

/**
 * The paper's two grantable permissions: `checkout` (see the record, download the file) and `commit`
 * (also change metadata and upload a file). Commit implies checkout.
 */
export type Permission = 'checkout' | 'commit';

/** Whom a grant names: a user or a group of this instance. */
export interface Grantee {
  kind: 'user' | 'group';
  name: string;
}

/** The grants of one image. */
export interface ImageGrants {
  users: Record<string, Permission>;
  groups: Record<string, Permission>;
}

/** An image of another instance that this site does not offer (GET /policy/hidden). */
export type { HiddenImage } from '../federation/SiteOverlay.ts';

/** An image's grants as the API shows them to its owner and admins. */
export interface ImageGrantsView extends ImageGrants {
  image: string;
  owner: string;
  access: 'public' | 'private';
}

// --- usage report --------------------------------------------------------------------------------

export interface ImageUsage {
  id: string;
  name: string;
  owner: string;
  status: string;
  downloads: number;
  /** Last download, else upload, else registration: when the image was last of use. */
  last_used: string;
  size?: number;
}

export interface UserActivity {
  /** Account name, or "(anonymous)". */
  user: string;
  requests: number;
  reads: number;
  downloads: number;
  writes: number;
  denied: number;
  last_seen: string;
}

/** Stored copies of image files and their bytes. */
export interface StorageUse {
  files: number;
  bytes: number;
}

/** The administrator's usage statistics (the paper's section 5.2.3). */
export interface UsageReport {
  generated_at: string;
  images: number;
  most_downloaded: ImageUsage[];
  least_downloaded: ImageUsage[];
  unused: { days: number; since: string; count: number; images: ImageUsage[] };
  activity: {
    days: number;
    since: string;
    users: UserActivity[];
    /** Whole-file downloads per UTC day, oldest first, every day of the window (its last 366 at most) listed, 0 included. */
    downloads_by_day: Array<{ day: string; downloads: number }>;
  };
  storage: { total: StorageUse; by_store: Record<string, StorageUse>; by_owner: Record<string, StorageUse> };
  /** Valid endorsements that expire within `days` (the site's trust policy's expiry_warning_days, else 30), soonest first. */
  expiring_endorsements: { days: number; count: number; endorsements: ExpiringEndorsement[] };
}

/** A valid endorsement about to lapse: sign a new one before `expires_at`. */
export interface ExpiringEndorsement {
  image: string;
  name?: string;
  identity: string;
  expires_at: string;
  file: string;
}

// --- stores and health ---------------------------------------------------------------------------

/** GET /stores: names and types only (settings may hold credentials). */
export interface StoreListing {
  default: string;
  stores: Array<{ name: string; type: string; writable: boolean }>;
}

/** What `visor store gc` found and removed in one store. */
export interface GcReport {
  store: string;
  type: string;
  dry_run: boolean;
  incomplete: Array<{ key: string; id: string; started?: string; bytes?: number; removed: boolean }>;
  unreferenced: Array<{ key: string; size: number; modified?: string; removed: boolean }>;
  errors: string[];
}

export interface StoreHealthView {
  type: string;
  ok: boolean;
  detail?: string;
}

/** GET /health: admins get every detail; others the status, the images they may see and each store's ok. */
export interface HealthReport {
  status: 'ok' | 'degraded';
  catalog: { head: string | undefined; images: number; [detail: string]: unknown };
  stores: Record<string, StoreHealthView>;
}
