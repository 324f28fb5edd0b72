/**
 * `visor verify --catalog` judges a clone offline, so it trusts nothing the clone's owner could
 * have edited: an endorser list counts only when its trust roots signed it, and with the instance's
 * key pinned, only what that key vouches for (the signed head, commits after it signed by the same
 * key, nothing uncommitted) is judged; with its roots pinned, only roots descending from them.
 */
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { endorse } from '../src/trust/Endorsing.ts';
import { runVisor } from './helpers/cli.ts';
import { git } from './helpers/gitRepos.ts';
import { cloneBuilder, endorsersFileText, publishHeadStatement, rootFileText } from './helpers/trustClones.ts';

/** A committed clone of one image endorsed by alice, whose list root@site-a signed. */
async function endorsedClone(prefix: string) {
  const c = await cloneBuilder(prefix);
  const [root, alice, mallory] = [c.key('root'), c.key('alice'), c.key('mallory')];
  const record = await c.addRecord();
  await c.trust(rootFileText([['root@site-a', root.made.publicLine]]), endorsersFileText([['alice@site-a', alice.made.publicLine]]), root.key);
  await c.addStatement(endorse(record, alice.key, 'alice@site-a'));
  c.commit();
  const verify = (...extra: string[]) => runVisor(['verify', record.id, '--catalog', c.dir, ...extra]);
  return { ...c, root, alice, mallory, record, verify };
}

test('an endorser list the roots did not sign, an uncommitted edit, or an unsigned commit after the signed head: verify --catalog refuses, naming the rule', async (t) => {
  const c = await endorsedClone('visor-verify-clone-');
  const instance = c.key('instance');
  publishHeadStatement(c.dir, instance.key, { instance: 'site-a' });
  const pinned = ['--head-key', instance.made.publicLine];

  const good = await c.verify(...pinned);
  t.is(good.code, 0, good.stderr);
  t.regex(good.stdout, /policy met \(alice@site-a\)/);

  // Mallory lists herself (no root signs the list) and endorses the image, in the working tree.
  await c.write('trust/endorsers.json', endorsersFileText([['alice@site-a', c.alice.made.publicLine], ['mallory@site-a', c.mallory.made.publicLine]]));
  await c.addStatement(endorse(c.record, c.mallory.key, 'mallory@site-a'));
  const unsignedList = await c.verify('--policy', await policy(c.scratch, { required_endorsers: ['mallory@site-a'] }));
  t.not(unsignedList.code, 0);
  t.regex(unsignedList.stderr, /endorsers\.json .*needs the signatures of 1 of root@site-a.*rule endorsers-threshold/);
  const uncommitted = await c.verify(...pinned);
  t.not(uncommitted.code, 0);
  t.regex(uncommitted.stderr, /uncommitted changes to what is judged \(rule uncommitted\): M trust\/endorsers\.json/);

  // Committed on top of the signed head, by someone without the instance key.
  git(c.dir, 'add', '-A');
  git(c.dir, '-c', 'user.name=m', '-c', 'user.email=m@x', 'commit', '-qm', 'mallory');
  const unsignedCommit = await c.verify(...pinned);
  t.not(unsignedCommit.code, 0);
  t.regex(unsignedCommit.stderr, new RegExp(`commit ${git(c.dir, 'rev-parse', '--short=12', 'HEAD').trim()} is not signed \\(rule commit-unsigned\\)`));
});

test("with --trust-root, a clone whose roots were replaced (an attacker's own, signing their own endorser list) is refused; the pinned roots pass, and a FIFO in their place does not hang", async (t) => {
  const c = await endorsedClone('visor-verify-pin-');
  const pin = join(c.scratch, 'pinned-root.json');
  await writeFile(pin, await readFile(join(c.dir, 'trust/root.json'), 'utf8'));

  t.is((await c.verify('--trust-root', pin)).code, 0, 'the pinned roots');
  // Mallory replaces the roots with her own and signs her own endorser list: consistent on its own.
  await c.trust(rootFileText([['mallory@site-a', c.mallory.made.publicLine]]), endorsersFileText([['mallory@site-a', c.mallory.made.publicLine]]), c.mallory.key);
  await c.addStatement(endorse(c.record, c.mallory.key, 'mallory@site-a'));
  const malloryPolicy = await policy(c.scratch, { required_endorsers: ['mallory@site-a'] });
  t.is((await c.verify('--policy', malloryPolicy)).code, 0, 'without a pin, the clone is its own authority');
  const pinned = await c.verify('--policy', malloryPolicy, '--trust-root', pin);
  t.not(pinned.code, 0);
  t.regex(pinned.stderr, /do not descend from the pinned root version 1, threshold 1 of SHA256:\S+ \(root@site-a\) \(rule trust-root-pin\)/);
  // A FIFO where the roots belong is no root, and is not read.
  await rm(join(c.dir, 'trust/root.json'));
  execFileSync('mkfifo', [join(c.dir, 'trust/root.json')]);
  const fifo = await c.verify('--trust-root', pin);
  t.not(fifo.code, 0);
  t.regex(fifo.stderr, /no valid trust\/root\.json.*rule trust-root-pin/);
});

async function policy(dir: string, content: object): Promise<string> {
  const file = join(dir, `policy-${Math.random().toString(36).slice(2)}.json`);
  await writeFile(file, JSON.stringify(content));
  return file;
}
