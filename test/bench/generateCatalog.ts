/**
 * Benchmark catalogue generator: writes N valid image records straight into a new VISOR catalogue
 * (a Git repository, branch main) without going through the API, and commits them in one commit.
 *
 *   node test/bench/generateCatalog.ts DIR N [--seed S] [--private-dir PDIR] [--ids FILE] [--ids-count K] [--no-pack] [--public] [--origin NAME]
 *
 * DIR must not exist or be empty. Layout: DIR/visor-catalog.json ({"schema_version": 1,
 * "visibility": "public"}) and DIR/images/<first two chars of id>/<id>.json, one pretty-printed
 * record per file, keys in the schema's order. Records vary in name, architecture, disk, sizes,
 * tags, series and created_at; status is available. Access is mostly public (all public with
 * --public: a public catalogue that daemons follow); the private ones (~10 %) go where a daemon
 * keeps them, a private catalogue of the same layout ("visibility": "private"), committed and packed
 * the same way: PDIR, by default DIR's sibling private-catalog (a daemon's default private_path
 * when DIR is <data_dir>/catalog), written only when there are private records. Output is
 * deterministic for a given seed, whatever the directories.
 * --origin NAME: the records are another instance's (their `origin`), as an upstream's are.
 * --ids FILE writes K (default 1000) ids of public records, one a line (for the show benchmark).
 * After the commit the repository is packed (git repack -a -d), as a cloned catalogue would be,
 * unless --no-pack. Prints one JSON line with the counts and timings.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { prng } from './seededRandom.ts';

interface Options {
  dir: string;
  count: number;
  seed: number;
  privateDir: string;
  idsFile: string | undefined;
  idsCount: number;
  pack: boolean;
  publicOnly: boolean;
  origin: string | undefined;
}

function usage(message: string): never {
  process.stderr.write(
    `${message}\nusage: generateCatalog.ts DIR N [--seed S] [--private-dir PDIR] [--ids FILE] [--ids-count K] [--no-pack] [--public] [--origin NAME]\n`,
  );
  process.exit(2);
}

function parseArgs(argv: string[]): Options {
  const positional: string[] = [];
  const opts: Options = { dir: '', count: 0, seed: 1, privateDir: '', idsFile: undefined, idsCount: 1000, pack: true, publicOnly: false, origin: undefined };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) usage(`${a} needs a value`);
      return v;
    };
    if (a === '--seed') opts.seed = Number(value());
    else if (a === '--private-dir') opts.privateDir = value();
    else if (a === '--ids') opts.idsFile = value();
    else if (a === '--ids-count') opts.idsCount = Number(value());
    else if (a === '--no-pack') opts.pack = false;
    else if (a === '--public') opts.publicOnly = true;
    else if (a === '--origin') opts.origin = value();
    else if (a.startsWith('--')) usage(`unknown option ${a}`);
    else positional.push(a);
  }
  if (positional.length !== 2) usage('expected DIR and N');
  opts.dir = positional[0] as string;
  if (opts.privateDir === '') opts.privateDir = join(dirname(resolve(opts.dir)), 'private-catalog');
  opts.count = Number(positional[1]);
  if (!Number.isInteger(opts.count) || opts.count < 0) usage(`N must be a non-negative integer, not ${positional[1]}`);
  if (!Number.isFinite(opts.seed)) usage('--seed must be a number');
  if (!Number.isInteger(opts.idsCount) || opts.idsCount < 0) usage('--ids-count must be a non-negative integer');
  return opts;
}

const HEX = '0123456789abcdef';

function main(): void {
  const opts = parseArgs(process.argv.slice(2));
  const rand = prng(opts.seed);
  const int = (lo: number, hi: number): number => lo + Math.floor(rand() * (hi - lo + 1));
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
  /** Weighted pick: pairs of [value, weight]. */
  const weighted = <T>(pairs: readonly (readonly [T, number])[]): T => {
    let total = 0;
    for (const [, w] of pairs) total += w;
    let r = rand() * total;
    for (const [v, w] of pairs) {
      r -= w;
      if (r < 0) return v;
    }
    return (pairs[pairs.length - 1] as readonly [T, number])[0];
  };
  const hex = (n: number): string => {
    let s = '';
    for (let i = 0; i < n; i++) s += HEX[Math.floor(rand() * 16)];
    return s;
  };
  /** A UUID v4 (lowercase) drawn from the seeded PRNG, so runs are reproducible. */
  const uuid = (): string => {
    const h = hex(32).split('');
    h[12] = '4';
    h[16] = HEX[8 + Math.floor(rand() * 4)] as string;
    const s = h.join('');
    return `${s.slice(0, 8)}-${s.slice(8, 12)}-${s.slice(12, 16)}-${s.slice(16, 20)}-${s.slice(20)}`;
  };

  const distros = [
    ['debian', ['10', '11', '12', '13']],
    ['ubuntu', ['20.04', '22.04', '24.04', '24.10']],
    ['fedora', ['39', '40', '41']],
    ['centos-stream', ['9', '10']],
    ['rocky', ['8', '9']],
    ['alpine', ['3.19', '3.20', '3.21']],
    ['opensuse', ['15.5', '15.6']],
    ['freebsd', ['13.4', '14.1']],
    ['windows-server', ['2019', '2022']],
    ['cirros', ['0.6.2']],
  ] as const;
  const variants = ['cloud', 'minimal', 'server', 'desktop', 'genericcloud', 'base', 'hpc', 'docker-host'];
  const architectures = [
    ['x86_64', 60],
    ['aarch64', 25],
    ['ppc64le', 5],
    ['s390x', 4],
    ['riscv64', 4],
    ['i386', 2],
  ] as const;
  const disks = [
    ['qcow2', 45],
    ['raw', 20],
    ['iso', 10],
    ['vmdk', 8],
    ['vhdx', 5],
    ['vdi', 4],
    ['vhd', 3],
    ['ploop', 2],
    ['ami', 1],
    ['aki', 1],
    ['ari', 1],
  ] as const;
  const containers = [
    ['bare', 80],
    ['ova', 6],
    ['ovf', 6],
    ['docker', 4],
    ['compressed', 4],
  ] as const;
  const types = [
    ['none', 85],
    ['openstack', 5],
    ['opennebula', 3],
    ['kernel', 3],
    ['ramdisk', 2],
    ['amazon', 2],
  ] as const;
  const owners = [
    ['admin', 70],
    ['alice', 10],
    ['bob', 10],
    ['ci-builder', 10],
  ] as const;
  const tagPool = [
    'cloud-init', 'lts', 'stable', 'testing', 'hardened', 'gpu', 'uefi', 'bios', 'secure-boot', 'cis',
    'minimal', 'official', 'community', 'nightly', 'arm', 'hpc', 'docker', 'kubernetes', 'database', 'web',
    'ci', 'desktop', 'fips', 'virtio', 'legacy', 'experimental', 'big data', 'ml', 'edge', 'iot',
  ];

  const dir = opts.dir;
  const privateDir = opts.privateDir;
  for (const d of [dir, privateDir]) if (existsSync(d) && readdirSync(d).length > 0) usage(`${d} exists and is not empty`);
  if (resolve(dir) === resolve(privateDir)) usage('--private-dir must not be DIR');
  const t0 = performance.now();
  /** A catalogue folder as a daemon lays it out, made when its first record is written. */
  const made = new Set<string>();
  const catalogue = (root: string, visibility: 'public' | 'private'): string => {
    if (!made.has(root)) {
      mkdirSync(join(root, 'images'), { recursive: true });
      writeFileSync(join(root, 'visor-catalog.json'), `${JSON.stringify({ schema_version: 1, visibility }, null, 2)}\n`);
      made.add(root);
    }
    return root;
  };
  // The shared catalogue exists even when empty; the private one only with a private record in it.
  catalogue(dir, 'public');

  const now = Date.now();
  const spanMs = 3 * 365 * 24 * 3600 * 1000; // created_at spread over three years
  const madeShards = new Set<string>();
  const publicIds: string[] = [];
  const seriesCounter = new Map<string, number>();
  let publicCount = 0;
  let privateCount = 0;

  for (let n = 0; n < opts.count; n++) {
    const id = uuid();
    const [distro, versions] = pick(distros);
    const version = pick(versions);
    const variant = pick(variants);
    const architecture = weighted(architectures);
    const disk = weighted(disks);
    // The draw happens either way, so that --public changes nothing else in the catalogue.
    const access = rand() < 0.9 || opts.publicOnly ? 'public' : 'private';
    const created = now - Math.floor(rand() * spanMs);
    // Never in the future: the catalogue rules refuse a time ahead of the clock.
    const uploaded = Math.min(now, created + int(1, 3600) * 1000);
    const updated = Math.min(now, uploaded + (rand() < 0.3 ? int(1, 90 * 24 * 3600) * 1000 : 0));
    const size = int(16, 20 * 1024) * 1024 * 1024 + int(0, 1024 * 1024 - 1);
    const virtualSize = Math.max(size, int(1, 200) * 1024 * 1024 * 1024);
    const tagCount = int(0, 4);
    const tags = new Set<string>();
    while (tags.size < tagCount) tags.add(pick(tagPool));
    const seriesName = rand() < 0.35 ? `${distro}-${version}-${variant}-${architecture}`.toLowerCase() : undefined;
    let build = 0;
    if (seriesName !== undefined) {
      build = (seriesCounter.get(seriesName) ?? 0) + 1;
      seriesCounter.set(seriesName, build);
    }
    const stamp = new Date(created).toISOString().slice(0, 10).replaceAll('-', '');
    const name =
      rand() < 0.5
        ? // within a series names must be unique (rule unique-in-series): two builds of a day differ by number
          `${distro}-${version}-${variant}-${architecture}-${stamp}${build ? `.${build}` : ''}`
        : `${distro.charAt(0).toUpperCase()}${distro.slice(1)} ${version} ${variant} (${architecture}) build ${
            build || int(1, 999)
          }`;

    // Keys in the schema's property order; optional ones only when set.
    const record: Record<string, unknown> = {
      id,
      name,
      architecture,
      status: 'available',
      size,
      virtual_size: virtualSize,
      access,
      created_at: new Date(created).toISOString(),
      updated_at: new Date(updated).toISOString(),
      uploaded_at: new Date(uploaded).toISOString(),
      owner: weighted(owners),
      ...(opts.origin !== undefined ? { origin: opts.origin } : {}),
      checksum: rand() < 0.85 ? `sha256:${hex(64)}` : `sha512:${hex(128)}`,
      type: weighted(types),
      disk,
      container_format: weighted(containers),
      store: 'fs',
      locations: [{ store: 'fs', key: id }],
      min_disk: int(1, 64),
      min_ram: pick([256, 512, 1024, 2048, 4096, 8192]),
    };
    if (tags.size > 0) record.tags = [...tags];
    if (rand() < 0.4) {
      record.description = `# ${name}\n\nA ${variant} image of ${distro} ${version} for ${architecture}.\n\n- built by CI\n- cloud-init: ${
        rand() < 0.8 ? 'yes' : 'no'
      }\n`;
    }
    if (seriesName !== undefined) record.series = seriesName;
    if (rand() < 0.5) {
      const properties: Record<string, string> = { os_distro: distro, os_version: version };
      if (rand() < 0.5) properties['hw:firmware_type'] = rand() < 0.5 ? 'uefi' : 'bios';
      if (rand() < 0.3) properties['build.pipeline'] = `pipeline-${int(1, 5000)}`;
      record.properties = properties;
    }

    // A daemon's shared catalogue never holds a private record: it lives in the private catalogue.
    const root = access === 'public' ? dir : catalogue(privateDir, 'private');
    if (access === 'private') privateCount++;
    const shardDir = join(root, 'images', id.slice(0, 2));
    if (!madeShards.has(shardDir)) {
      mkdirSync(shardDir, { recursive: true });
      madeShards.add(shardDir);
    }
    writeFileSync(join(shardDir, `${id}.json`), `${JSON.stringify(record, null, 2)}\n`);

    if (access === 'public') {
      publicCount++;
      // Reservoir sample of public ids, so the show benchmark hits ids spread over the catalogue.
      if (publicIds.length < opts.idsCount) publicIds.push(id);
      else {
        const j = Math.floor(rand() * publicCount);
        if (j < opts.idsCount) publicIds[j] = id;
      }
    }
  }
  const tWritten = performance.now();

  const git = (cwd: string, ...args: string[]): void => {
    execFileSync(
      'git',
      [
        '-c', 'user.name=VISOR bench', '-c', 'user.email=bench@visor.invalid',
        '-c', 'gc.auto=0', '-c', 'maintenance.auto=false', '-c', 'core.fsync=none',
        ...args,
      ],
      { cwd, stdio: ['ignore', 'ignore', 'inherit'], maxBuffer: 64 * 1024 * 1024 },
    );
  };
  for (const root of made) {
    git(root, 'init', '-q', '-b', 'main');
    // When packing: every blob straight into one pack (bulk check-in: every file counts as 'big'), as
    // a clone has it, instead of 100,000 loose objects that the repack would then delete: on a file
    // system mounted with discard that deletion took a minute or more, the disk busy all along.
    git(root, ...(opts.pack ? ['-c', 'core.bigFileThreshold=1'] : []), 'add', '-A');
    const held = root === dir ? publicCount : privateCount;
    git(root, 'commit', '-q', '--no-verify', '-m', `bench: generated catalogue of ${held} images (${root === dir ? 'public' : 'private'}; seed ${opts.seed})`);
  }
  const tCommitted = performance.now();
  if (opts.pack) for (const root of made) git(root, 'repack', '-a', '-d', '-q', '--window=0');
  const tPacked = performance.now();

  if (opts.idsFile !== undefined) writeFileSync(opts.idsFile, publicIds.length ? `${publicIds.join('\n')}\n` : '');

  process.stdout.write(
    `${JSON.stringify({
      dir,
      private_dir: privateCount > 0 ? privateDir : null,
      images: opts.count,
      public: publicCount,
      private: privateCount,
      series: seriesCounter.size,
      ids_written: opts.idsFile !== undefined ? publicIds.length : 0,
      write_ms: Math.round(tWritten - t0),
      commit_ms: Math.round(tCommitted - tWritten),
      pack_ms: Math.round(tPacked - tCommitted),
      total_ms: Math.round(tPacked - t0),
    })}\n`,
  );
}

main();
