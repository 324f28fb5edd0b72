import { randomBytes } from 'node:crypto';
import { ensuredService } from '../../helpers/testService.ts';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';

/** Where the one-node Swift of the tests listens, and the TempAuth account (also the S3 key pair). */
export interface TestSwift {
  url: string;
  authUrl: string;
  user: string;
  key: string;
}

let running: Promise<TestSwift> | undefined;

/**
 * The real Swift of the tests (TempAuth and s3api on loopback): ensure.sh installs and starts it unless
 * `npm test` already did, and is safe to call from several test files at once.
 */
export function testSwift(): Promise<TestSwift> {
  running ??= (async () => {
    const state = await ensuredService(new URL('./ensure.sh', import.meta.url));
    return { url: state['SWIFT_URL']!, authUrl: state['SWIFT_AUTH_URL']!, user: state['SWIFT_USER']!, key: state['SWIFT_KEY']! };
  })();
  return running;
}

/** A new, empty bucket (a Swift container) with a name no other test uses. */
export async function freshBucket(swift: TestSwift, label: string): Promise<string> {
  const bucket = `${label}-${randomBytes(5).toString('hex')}`;
  const client = new S3Client({ endpoint: swift.url, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: swift.user, secretAccessKey: swift.key } });
  try {
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
  } finally {
    client.destroy();
  }
  return bucket;
}
