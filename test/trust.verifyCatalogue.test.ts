/**
 * `visor verify --catalog DIR` without an id judges every image of a clone against a policy: exit 0
 * only when every one meets it, else a count of the images failing each rule with the first ids;
 * warnings of expiring endorsements and of deprecations reaching through built_from. The clone is
 * trusted only as far as for one image: its roots must sign its endorser list, and with --head-key
 * only what the instance key vouches for is judged.
 */
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { recordPath } from '../src/catalog/CatalogLayout.ts';
import { endorse, revoke } from '../src/trust/Endorsing.ts';
import { runVisor } from './helpers/cli.ts';
import { cloneBuilder, endorsersFileText, publishHeadStatement, rootFileText } from './helpers/trustClones.ts';

const DAY = 86_400_000;
/**
 * A committed clone under one trust root listing alice: a base (deprecated), an image built on it,
 * and one more, each endorsed by alice (the last one's endorsement expiring in 10 days); its head
 * signed by the instance key.
 */
async function clone() {
  const c = await cloneBuilder('visor-verify-catalogue-');
  const [root, alice, mallory, instance] = [c.key('root'), c.key('alice'), c.key('mallory'), c.key('instance')];
  const ago = new Date(Date.now() - 60_000);
  const base = await c.addRecord({ deprecation: { reason: 'old kernel', at: ago.toISOString(), by: 'pat' } });
  const child = await c.addRecord({ built_from: base.id });
  const other = await c.addRecord();
  await c.trust(rootFileText([['root@site-a', root.made.publicLine]]), endorsersFileText([['alice@site-a', alice.made.publicLine]]), root.key);
  for (const r of [base, child]) await c.addStatement(endorse(r, alice.key, 'alice@site-a', { now: ago }));
  await c.addStatement(endorse(other, alice.key, 'alice@site-a', { now: ago, expiresAt: new Date(Date.now() + 10 * DAY) }));
  c.commit();
  publishHeadStatement(c.dir, instance.key, { instance: 'site-a' });
  const verify = (...extra: string[]) => runVisor(['verify', '--catalog', c.dir, ...extra]);
  return { ...c, verify, base, child, other, alice, mallory, instance };
}

test('every image endorsed: exit 0 with the summary, warning of an expiring endorsement and of a deprecated base; --json gives the same as counts', async (t) => {
  const c = await clone();
  const ok = await c.verify('--head-key', c.instance.made.publicLine);
  t.is(ok.code, 0, ok.stderr);
  t.regex(ok.stdout, /3 of 3 images meet the policy \(3 statements checked\)/);
  t.regex(ok.stdout, new RegExp(`expires_soon \\(expiring\\), downloadable: 1 image: ${c.other.id}\\n.*endorsement by alice@site-a expires`));
  t.regex(ok.stdout, new RegExp(`base_deprecated \\(deprecated\\), downloadable: 1 image: ${c.child.id}\\n.*built on image ${c.base.id} \\(its base\\), deprecated: old kernel`));
  t.regex(ok.stdout, new RegExp(`deprecated, downloadable: 1 image: ${c.base.id}`));

  const json = await c.verify('--json');
  t.is(json.code, 0, json.stderr);
  const summary = JSON.parse(json.stdout) as Record<string, unknown> & { warnings: Array<Record<string, unknown>> };
  t.like(summary, { met: true, images: 3, images_met: 3, images_failed: 0, statements: 3, failures: [] });
  t.deepEqual(summary.warnings.map((w) => [w.rule, w.status, w.treatment, w.images, w.first]).sort(), [
    ['base_deprecated', 'deprecated', 'downloadable', 1, [c.child.id]],
    ['deprecated', 'deprecated', 'downloadable', 1, [c.base.id]],
    ['expires_soon', 'expiring', 'downloadable', 1, [c.other.id]],
  ]);

  // No id and no clone: nothing to judge.
  const neither = await runVisor(['verify']);
  t.is(neither.code, 2);
  t.regex(neither.stderr, /give an image id, or --catalog DIR/);
  const nowhere = await runVisor(['verify', '--catalog', join(c.scratch, 'nothing-here')]);
  t.is(nowhere.code, 3);
  t.regex(nowhere.stderr, /no catalogue at/);
});

test('an unendorsed image and a revoked base fail, each rule named with its ids, the revocation reaching the image built on it; a stricter policy names its rule', async (t) => {
  const c = await clone();
  const lone = await c.addRecord();
  await c.addStatement(revoke(c.base.id, c.alice.key, 'alice@site-a', 'boots into a kernel panic', new Date(Date.now() + 1000)));
  // A FIFO where a record belongs is an image without facts: not read (which would block), and it fails.
  const fifo = '0' + lone.id.slice(1);
  await mkdir(join(c.dir, 'endorsements', lone.id.slice(0, 2), lone.id), { recursive: true });
  execFileSync('mkfifo', [join(c.dir, 'endorsements', lone.id.slice(0, 2), lone.id, 'endorsement-fifo.json')]);
  await mkdir(join(c.dir, 'images', fifo.slice(0, 2)), { recursive: true });
  execFileSync('mkfifo', [join(c.dir, recordPath(fifo))]);
  const bad = await c.verify();
  t.is(bad.code, 1);
  t.regex(bad.stdout, /1 of 5 images meet the policy \(5 statements checked\)/);
  // The revoked base has no valid endorsement left either.
  const threshold = /threshold \(unendorsed\), refused: 3 images: (.*)\n/.exec(bad.stdout)?.[1]?.split(', ');
  t.deepEqual(threshold?.sort(), [lone.id, c.base.id, fifo].sort());
  // So does one image's verify: it names the image's rule rather than blocking on the read.
  const one = await runVisor(['verify', fifo, '--catalog', c.dir]);
  t.is(one.code, 1);
  t.regex(one.stderr, new RegExp(`image ${fifo}: rule threshold: 0 of 1`));
  t.regex(bad.stdout, new RegExp(`revoked, refused: 1 image: ${c.base.id}\\n.*alice@site-a revoked their endorsement: boots into a kernel panic`));
  t.regex(bad.stdout, new RegExp(`base_revoked \\(revoked\\), refused: 1 image: ${c.child.id}\\n`));
  t.regex(bad.stderr, /4 of 5 images do not meet the policy \(rules (threshold|revoked|base_revoked), (threshold|revoked|base_revoked), (threshold|revoked|base_revoked)\)/);

  const json = await c.verify('--json', '--policy', await policy(c.scratch, { required_claims: ['tested'] }));
  t.is(json.code, 1);
  const summary = JSON.parse(json.stdout) as { met: boolean; images_met: number; failures: Array<{ rule: string; images: number; first: string[] }> };
  t.false(summary.met);
  t.is(summary.images_met, 0);
  // alice claims nothing: the threshold fails for all five, required_claims for the two she endorsed and has not revoked.
  t.like(summary.failures.find((f) => f.rule === 'threshold'), { images: 5 });
  t.like(summary.failures.find((f) => f.rule === 'required_claims'), { images: 2 });
});

test('an endorser list the roots did not sign, or an uncommitted change under --head-key: the whole clone is refused as one image is', async (t) => {
  const c = await clone();
  await c.write('trust/endorsers.json', endorsersFileText([['alice@site-a', c.alice.made.publicLine], ['mallory@site-a', c.mallory.made.publicLine]]));
  const unsignedList = await c.verify();
  t.is(unsignedList.code, 1);
  t.is(unsignedList.stdout, '');
  t.regex(unsignedList.stderr, /endorsers\.json .*needs the signatures of 1 of root@site-a.*rule endorsers-threshold/);
  const uncommitted = await c.verify('--head-key', c.instance.made.publicLine);
  t.is(uncommitted.code, 1);
  t.regex(uncommitted.stderr, /uncommitted changes to what is judged \(rule uncommitted\): M trust\/endorsers\.json/);
});

async function policy(dir: string, content: object): Promise<string> {
  const file = join(dir, `policy-${Math.random().toString(36).slice(2)}.json`);
  await writeFile(file, JSON.stringify(content));
  return file;
}
