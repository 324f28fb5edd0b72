/**
 * The web catalogue in a real browser: Debian's Chromium (installed by test/web/ensure-chromium.sh
 * when missing), headless, driven by playwright-core. Browse, search, open an image, sign in, upload a
 * file with the progress bar moving, sign out and find the private images gone. On failure a
 * screenshot of the page is kept under test-output/web/ (or $VISOR_TEST_OUTPUT/web/).
 */
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startTestDaemon, type TestDaemon } from './helpers/daemon.ts';
import { addUser } from './helpers/accounts.ts';
import { call } from './helpers/http.ts';
import { createImage, sha256, unique, uploadFile } from './helpers/images.ts';

const OUTPUT = join(process.env['VISOR_TEST_OUTPUT'] ?? join(import.meta.dirname, '..', 'test-output'), 'web');
const UPLOAD_BYTES = 6 * 1024 * 1024;

let d: TestDaemon;
let browser: Browser;
let scratch: string;

test.before(async () => {
  const executablePath = execFileSync('bash', [join(import.meta.dirname, 'web/ensure-chromium.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
  [d, browser, scratch] = await Promise.all([startTestDaemon(), chromium.launch({ executablePath, headless: true }), mkdtemp(join(tmpdir(), 'visor-web-'))]);
});
test.after.always(async () => {
  await browser?.close();
  await d?.stop();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

/** Runs the steps in a fresh browser context; on failure keeps a screenshot of where it stopped. */
async function inBrowser(name: string, steps: (page: Page) => Promise<void>): Promise<void> {
  const context = await browser.newContext();
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  const problems: string[] = [];
  // A violated Content-Security-Policy or a script error would mean the page does not work as served.
  page.on('console', (m) => {
    if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) problems.push(m.text());
  });
  page.on('pageerror', (e) => problems.push(e.message));
  try {
    await steps(page);
    if (problems.length > 0) throw new Error(`the page reported: ${problems.join('; ')}`);
  } catch (error) {
    await mkdir(OUTPUT, { recursive: true });
    const shot = join(OUTPUT, `${name}-${Date.now()}.png`);
    await page.screenshot({ path: shot, fullPage: true }).catch(() => undefined);
    (error as Error).message += `\n(screenshot: ${shot}; url: ${page.url()})`;
    throw error;
  } finally {
    await context.close();
  }
}

test('browse, search, open an image, sign in, upload with progress, sign out: the private images are gone', async (t) => {
  const owner = unique('browser-owner');
  const key = await addUser(d, owner);
  const publicName = unique('public-disk');
  const privateName = unique('private-disk');
  const publicId = await createImage(d, key, { name: publicName, disk: 'raw', container_format: 'bare', access: 'public' });
  await uploadFile(d, key, publicId, Buffer.from('public bytes'));
  await createImage(d, key, { name: privateName, disk: 'raw', container_format: 'bare', access: 'private' });
  const content = randomBytes(UPLOAD_BYTES);
  const file = join(scratch, 'upload.raw');
  await writeFile(file, content);
  const uploadedName = unique('uploaded-disk');

  await inBrowser('journey', async (page) => {
    // A browser at / is sent to the catalogue; anonymous, it lists the public image only.
    await page.goto(`${d.url}/`);
    t.regex(page.url(), /\/ui\/$/);
    await page.getByRole('link', { name: publicName }).waitFor();
    t.is(await page.getByText(privateName).count(), 0);

    // Search by part of the name.
    await page.getByRole('searchbox', { name: 'Search' }).fill(publicName.slice(0, -2));
    await page.getByRole('button', { name: 'Search' }).click();
    await page.waitForURL(/\/ui\/\?q=/);
    await page.getByRole('link', { name: publicName }).click();
    await page.getByRole('heading', { name: publicName }).waitFor();
    t.true((await page.locator('#cmd-curl').textContent())!.includes(`/images/${publicId}/file`));

    // Sign in with the key: the private image appears.
    await page.getByRole('link', { name: 'Sign in' }).click();
    await page.getByLabel('API key').fill(key);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText(`Signed in as ${owner}`).waitFor();
    await page.getByRole('link', { name: privateName }).waitFor();

    // Upload, throttled so that the bar is seen part way.
    await page.getByRole('link', { name: 'Upload' }).click();
    await page.getByLabel('Name').fill(uploadedName);
    await page.getByLabel('Disk format').selectOption('raw');
    await page.getByLabel('File').setInputFiles(file);
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Network.enable');
    await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: 4 * 1024 * 1024 });
    await page.getByRole('button', { name: 'Register and upload' }).click();
    // Runs in the page (the test's types have no DOM): the progress bar's value part way to its max.
    const partWay = await page.waitForFunction(() => {
      const { document } = globalThis as unknown as { document: { getElementById(id: string): { value: number; max: number } | null } };
      const bar = document.getElementById('upload-progress');
      return bar !== null && bar.value > 0 && bar.value < bar.max ? bar.value / bar.max : false;
    });
    const fraction = (await partWay.jsonValue()) as number;
    t.true(fraction > 0 && fraction < 1, `the bar moved part way (${fraction})`);
    await page.waitForURL(/\/ui\/images\/[0-9a-f-]{36}$/, { timeout: 30_000 });
    await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
    await page.getByRole('heading', { name: uploadedName }).waitFor();
    const uploadedId = page.url().split('/').pop()!;
    const record = (await call(d, key, 'GET', `/images/${uploadedId}`)).json as { size: number; checksum: string; status: string; access: string; owner: string };
    t.like(record, { size: UPLOAD_BYTES, checksum: sha256(content), status: 'available', access: 'private', owner });

    // An image registered without its file gets it from its own page.
    const pending = await createImage(d, key, { name: unique('pending-disk'), disk: 'raw', container_format: 'bare', access: 'public' });
    await page.goto(`${d.url}/ui/images/${pending}`);
    await page.getByLabel('File').setInputFiles({ name: 'small.raw', mimeType: 'application/octet-stream', buffer: Buffer.from('pending bytes') });
    await page.getByRole('button', { name: 'Upload the file' }).click();
    await page.getByRole('link', { name: 'Download the file' }).waitFor();
    t.like((await call(d, key, 'GET', `/images/${pending}`)).json, { status: 'available', size: 13 });

    // Sign out: back to anonymous, both private images gone from the list and their pages.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('link', { name: 'Sign in' }).waitFor();
    await page.getByRole('link', { name: publicName }).waitFor();
    t.is(await page.getByText(privateName).count(), 0);
    t.is(await page.getByText(uploadedName).count(), 0);
    const gone = await page.goto(`${d.url}/ui/images/${uploadedId}`);
    t.is(gone?.status(), 404);
    t.is(await page.getByText(uploadedName).count(), 0);
  });
});
