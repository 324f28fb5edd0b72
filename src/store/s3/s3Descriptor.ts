import { invalidField } from '../../errors/VisorError.ts';
import type { StoreDescriptor } from '../StoreDescriptor.ts';
import { COMMON_SETTINGS, type StoreCommonConfig } from '../StoreSettingsReader.ts';
import { s3Places } from '../storePlaces.ts';

export interface S3StoreConfig extends StoreCommonConfig {
  type: 's3';
  bucket: string;
  prefix: string;
  region: string;
  endpoint?: string;
  forcePathStyle: boolean;
  accessKeyId?: string;
  secretAccessKey?: string;
  sessionToken?: string;
  partSize: number;
  parallelParts: number;
  maxParts: number;
}

const MiB = 1 << 20;

export const s3Descriptor: StoreDescriptor<S3StoreConfig> = {
  type: 's3',
  settings: ['type', ...COMMON_SETTINGS, 'bucket', 'prefix', 'region', 'endpoint', 'force_path_style', 'access_key_id', 'secret_access_key', 'session_token', 'part_size', 'parallel_parts', 'max_parts'],
  parse(s) {
    const endpoint = s.url('endpoint', false);
    const accessKeyId = s.text('access_key_id');
    const secretAccessKey = s.text('secret_access_key');
    if ((accessKeyId === undefined) !== (secretAccessKey === undefined)) {
      throw invalidField(s.field(accessKeyId === undefined ? 'access_key_id' : 'secret_access_key'), 'required', 'both access_key_id and secret_access_key, or neither (the AWS default chain)');
    }
    const sessionToken = s.text('session_token');
    const bucket = s.required('bucket');
    if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) throw invalidField(s.field('bucket'), 'pattern', 'a bucket name (3-63 lowercase letters, digits, dots and hyphens)');
    return {
      type: 's3',
      ...s.common(),
      bucket,
      prefix: s.prefix(),
      region: s.text('region') ?? 'us-east-1',
      ...(endpoint ? { endpoint } : {}),
      // S3-compatible services (an endpoint given) rarely have virtual-host names for buckets.
      forcePathStyle: s.bool('force_path_style', endpoint !== undefined),
      ...(accessKeyId ? { accessKeyId } : {}),
      ...(secretAccessKey ? { secretAccessKey } : {}),
      ...(sessionToken ? { sessionToken } : {}),
      partSize: s.int('part_size', 16 * MiB, 5 * MiB, 5 * 1024 * MiB),
      parallelParts: s.int('parallel_parts', 4, 1, 64),
      maxParts: s.int('max_parts', 10_000, 1, 10_000),
    };
  },
  places: (c) => s3Places(c.endpoint, c.region, c.bucket, c.prefix),
  async open(name, c) {
    const { S3Store } = await import('./S3Store.ts');
    return new S3Store({
      name,
      bucket: c.bucket,
      prefix: c.prefix,
      region: c.region,
      ...(c.endpoint ? { endpoint: c.endpoint } : {}),
      forcePathStyle: c.forcePathStyle,
      ...(c.accessKeyId && c.secretAccessKey ? { credentials: { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey, ...(c.sessionToken ? { sessionToken: c.sessionToken } : {}) } } : {}),
      partSize: c.partSize,
      parallelParts: c.parallelParts,
      maxParts: c.maxParts,
      timeoutMs: c.timeoutMs,
      retries: c.retries,
    });
  },
};
