export const STATUSES = ['locked', 'uploading', 'error', 'available'] as const;
export type ImageStatus = (typeof STATUSES)[number];

export interface ImageLocation {
  store: string;
  key: string;
}

/** What format inspection found in an image's file (src/inspection): set by the server only. */
export interface ImageInspection {
  /** The format the bytes are, whatever the record's `disk` says. */
  format: string;
  /** Bytes of the virtual disk, from the file's header. */
  virtual_size: number;
  /** qcow2 only. */
  cluster_size?: number;
  /** qcow2 only: "0.10" (version 2) or "1.1" (version 3). */
  compat?: string;
  inspected_at: string;
  /** Which version of the inspector's rules judged the file. */
  inspector: string;
}

/** The malware scan's verdict on an image's file (src/scanning): set by the server only. */
export interface ImageScan {
  /** `error` and `too_large`: no verdict on the bytes (never a pass); `infected`: quarantined until released. */
  verdict: 'clean' | 'infected' | 'error' | 'too_large';
  /** What the engine found (infected only). */
  signature?: string;
  /** Why there is no verdict (error, too_large). */
  reason?: string;
  /** The engine that judged, "ClamAV 1.4.6". */
  engine?: string;
  /** Its signature database's version, when clamd reports one (official databases do, local ones not). */
  database_version?: string;
  scanned_at: string;
  /** An admin let an infected file be served again (POST /images/:id/release). */
  released_at?: string;
  released_by?: string;
}

/** The owner retired the image (visor deprecate): still served, flagged with why and what to use instead. */
export interface ImageDeprecation {
  reason: string;
  replaced_by?: string;
  /** Set by the server when the deprecation is made or changed. */
  at?: string;
  by?: string;
}

/** Digests of an image's file besides its checksum, lowercase hex, for clients that verify them (Glance v2: md5, sha512). */
export interface FileDigests {
  md5?: string;
  sha512?: string;
}

/** An import under way or failed (Glance's interoperable import): set by the server only. */
export interface ImageImportState {
  /** glance-direct, web-download. */
  method: string;
  /** staging, staged (a file waits for its import), importing, failed. */
  state: 'staging' | 'staged' | 'importing' | 'failed';
  at: string;
  by: string;
  reason?: string;
}

/** An image record as stored in the catalogue (images/<shard>/<id>.json). */
export interface ImageRecord {
  id: string;
  name: string;
  status: ImageStatus;
  access: 'public' | 'private';
  owner: string;
  /** The instance whose accounts own the image; none: the instance that holds it. */
  origin?: string;
  created_at: string;
  updated_at: string;
  architecture?: string;
  size?: number;
  virtual_size?: number;
  uploaded_at?: string;
  checksum?: string;
  digests?: FileDigests;
  type?: string;
  kernel?: string;
  ramdisk?: string;
  disk?: string;
  /** The image this one was built from: revocations and deprecations of a base flag it (src/trust/ImageTrust.ts). */
  built_from?: string;
  deprecation?: ImageDeprecation;
  container_format?: string;
  store?: string;
  locations?: ImageLocation[];
  min_disk?: number;
  min_ram?: number;
  /** Deletion is refused while set. */
  protected?: boolean;
  /** Taken out of use by an admin: the file is served to admins only until reactivated. */
  deactivated?: { at: string; by: string };
  import_state?: ImageImportState;
  /** Left out of Glance v2 lists unless asked for (os_hidden). */
  unlisted?: boolean;
  /** A public image Glance v2 lists only when asked for community images (its community visibility). */
  community?: boolean;
  tags?: string[];
  description?: string;
  series?: string;
  properties?: Record<string, string>;
  inspection?: ImageInspection;
  scan?: ImageScan;
}

/** What the API serves: the stored record plus the per-instance fields. */
export interface ImageView extends ImageRecord {
  uri: string;
  accessed_at?: string;
  access_count: number;
}

/** Fields a client may send when registering or updating an image. */
export type ImageInput = Partial<
  Pick<
    ImageRecord,
    | 'name'
    | 'architecture'
    | 'access'
    | 'virtual_size'
    | 'type'
    | 'kernel'
    | 'ramdisk'
    | 'disk'
    | 'built_from'
    | 'deprecation'
    | 'container_format'
    | 'store'
    | 'min_disk'
    | 'min_ram'
    | 'protected'
    | 'unlisted'
    | 'community'
    | 'tags'
    | 'description'
    | 'series'
    | 'properties'
  >
>;

/** The fields of a brief listing (GET /images), after the paper's "brief metadata". */
export const BRIEF_FIELDS = [
  'id',
  'uri',
  'name',
  'architecture',
  'access',
  'status',
  'disk',
  'type',
  'size',
  'checksum',
  'series',
  'tags',
] as const satisfies readonly (keyof ImageView)[];

export type ImageBrief = Pick<ImageView, (typeof BRIEF_FIELDS)[number]>;

/** Fields that exist per instance only and never enter a catalogue file. */
export const INSTANCE_FIELDS = ['uri', 'accessed_at', 'access_count'] as const;
