import type { StoreDescriptor } from '../StoreDescriptor.ts';
import { COMMON_SETTINGS, type StoreCommonConfig } from '../StoreSettingsReader.ts';
import { DEFAULT_RETRY } from '../remote/transientRetry.ts';
import { webPlace } from '../storePlaces.ts';

export interface HttpStoreConfig extends StoreCommonConfig {
  type: 'http';
  url: string;
}

export const httpDescriptor: StoreDescriptor<HttpStoreConfig> = {
  type: 'http',
  settings: ['type', ...COMMON_SETTINGS, 'url'],
  parse: (s) => ({ type: 'http', ...s.common(), url: s.url('url') }),
  places: (c) => [webPlace(c.url)],
  readOnly: true,
  async open(name, c) {
    const { HttpStore } = await import('./HttpStore.ts');
    return new HttpStore({ name, url: c.url, timeoutMs: c.timeoutMs, retry: { ...DEFAULT_RETRY, retries: c.retries } });
  },
};
