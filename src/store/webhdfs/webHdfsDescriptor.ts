import { invalidField } from '../../errors/VisorError.ts';
import type { StoreDescriptor } from '../StoreDescriptor.ts';
import { COMMON_SETTINGS, type StoreCommonConfig } from '../StoreSettingsReader.ts';
import { DEFAULT_RETRY } from '../remote/transientRetry.ts';
import { webPlace } from '../storePlaces.ts';

export interface HdfsStoreConfig extends StoreCommonConfig {
  type: 'hdfs';
  url: string;
  path: string;
  user?: string;
  delegationToken?: string;
}

export const webHdfsDescriptor: StoreDescriptor<HdfsStoreConfig> = {
  type: 'hdfs',
  settings: ['type', ...COMMON_SETTINGS, 'url', 'path', 'user', 'delegation_token'],
  parse(s) {
    const user = s.text('user');
    const delegationToken = s.text('delegation_token');
    const path = s.text('path') ?? '/visor';
    if (!/^\/[A-Za-z0-9._\-/]*$/.test(path) || path.split('/').includes('..')) throw invalidField(s.field('path'), 'pattern', 'an absolute HDFS path');
    return { type: 'hdfs', ...s.common(), url: s.url('url'), path, ...(user ? { user } : {}), ...(delegationToken ? { delegationToken } : {}) };
  },
  places: (c) => [`hdfs:${webPlace(c.url)}${c.path.replace(/^\/+/, '').replace(/\/?$/, '/')}`],
  async open(name, c) {
    const { WebHdfsStore } = await import('./WebHdfsStore.ts');
    return new WebHdfsStore({ name, url: c.url, path: c.path, ...(c.user ? { user: c.user } : {}), ...(c.delegationToken ? { delegationToken: c.delegationToken } : {}), timeoutMs: c.timeoutMs, retry: { ...DEFAULT_RETRY, retries: c.retries } });
  },
};
