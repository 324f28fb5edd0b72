import { invalidField } from '../../errors/VisorError.ts';
import type { StoreDescriptor } from '../StoreDescriptor.ts';
import { COMMON_SETTINGS, type StoreCommonConfig } from '../StoreSettingsReader.ts';
import { DEFAULT_RETRY } from '../remote/transientRetry.ts';
import { webPlace } from '../storePlaces.ts';

export interface SwiftStoreConfig extends StoreCommonConfig {
  type: 'swift';
  authUrl: string;
  authVersion: 1 | 3;
  user: string;
  /** TempAuth (v1) key. */
  key?: string;
  /** Keystone (v3) password and scope. */
  password?: string;
  userDomain: string;
  project?: string;
  projectDomain: string;
  region?: string;
  interface: string;
  container: string;
  segmentContainer: string;
  prefix: string;
  segmentSize: number;
  maxSegments: number;
}

const MiB = 1 << 20;

export const swiftDescriptor: StoreDescriptor<SwiftStoreConfig> = {
  type: 'swift',
  settings: ['type', ...COMMON_SETTINGS, 'auth_url', 'auth_version', 'user', 'key', 'password', 'user_domain', 'project', 'project_domain', 'region', 'interface', 'container', 'segment_container', 'prefix', 'segment_size', 'max_segments'],
  parse(s) {
    const authUrl = s.url('auth_url');
    const authVersion = s.int('auth_version', /\/v3\/?$/.test(authUrl) ? 3 : 1, 1, 3);
    if (authVersion === 2) throw invalidField(s.field('auth_version'), 'enum', '1 (TempAuth) or 3 (Keystone)');
    const container = s.required('container');
    if (!/^[^/]{1,256}$/.test(container)) throw invalidField(s.field('container'), 'pattern', 'a container name without "/"');
    const segmentContainer = s.text('segment_container') ?? `${container}_segments`;
    if (!/^[^/]{1,256}$/.test(segmentContainer) || segmentContainer === container) throw invalidField(s.field('segment_container'), 'pattern', 'a container name without "/", other than container');
    const key = authVersion === 1 ? s.required('key') : undefined;
    const password = authVersion === 3 ? s.required('password') : undefined;
    const project = authVersion === 3 ? s.required('project') : undefined;
    const region = s.text('region');
    const iface = s.text('interface') ?? 'public';
    if (!['public', 'internal', 'admin'].includes(iface)) throw invalidField(s.field('interface'), 'enum', 'public, internal or admin');
    return {
      type: 'swift',
      ...s.common(),
      authUrl,
      authVersion: authVersion as 1 | 3,
      user: s.required('user'),
      ...(key ? { key } : {}),
      ...(password ? { password } : {}),
      userDomain: s.text('user_domain') ?? 'Default',
      ...(project ? { project } : {}),
      projectDomain: s.text('project_domain') ?? 'Default',
      ...(region ? { region } : {}),
      interface: iface,
      container,
      segmentContainer,
      prefix: s.prefix(),
      segmentSize: s.int('segment_size', 1024 * MiB, 1, 5 * 1024 * MiB),
      maxSegments: s.int('max_segments', 1000, 1, 1_000_000),
    };
  },
  // The account is the Keystone project, or TempAuth's "account:user" account.
  places: (c) => [c.container, c.segmentContainer].map((container) => `swift:${webPlace(c.authUrl)}${c.project ?? c.user.split(':')[0]}/${container}/${c.prefix}`),
  async open(name, c) {
    const [{ KeystoneV3, TempAuthV1 }, { SwiftStore }] = await Promise.all([import('./SwiftAuth.ts'), import('./SwiftStore.ts')]);
    const auth =
      c.authVersion === 1
        ? new TempAuthV1({ url: c.authUrl, user: c.user, key: c.key! })
        : new KeystoneV3({ url: c.authUrl, user: c.user, password: c.password!, userDomain: c.userDomain, project: c.project!, projectDomain: c.projectDomain, interface: c.interface, ...(c.region ? { region: c.region } : {}) });
    return new SwiftStore({ name, auth, container: c.container, segmentContainer: c.segmentContainer, prefix: c.prefix, segmentSize: c.segmentSize, maxSegments: c.maxSegments, timeoutMs: c.timeoutMs, retry: { ...DEFAULT_RETRY, retries: c.retries } });
  },
};
