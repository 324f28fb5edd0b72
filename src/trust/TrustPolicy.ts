import { invalidField } from '../errors/VisorError.ts';
import type { EndorsementView } from './EndorsementState.ts';
import { EXPIRY_WARNING_DAYS } from './EndorsementState.ts';
import { isQualifiedIdentity } from './EndorsementStatement.ts';
import { standingRevocations, type ImageTrust } from './ImageTrust.ts';

/**
 * What a site requires of an image before it trusts it: `visor verify --policy FILE`, `visor download
 * --policy FILE`, and the daemon's `trust.policy` (lists, downloads, `latest`). One JSON file, every
 * field optional:
 *
 *   { "threshold": 2,                                  // distinct endorsers, default 1
 *     "endorsers": ["alice@site-a", "SHA256:…"],        // who counts (default: anyone the catalogue lists)
 *     "required_endorsers": ["cert-team@site-b"],      // each of these must be among them
 *     "required_claims": ["tested"],                   // an endorsement counts only if it makes these
 *     "deny_endorsers": ["mallory@site-x"],            // never count (a key feared compromised)
 *     "allow_images": ["<id>"], "allow_digests": ["sha256:…"],   // accepted without endorsements
 *     "deny_images": ["<id>"],  "deny_digests": ["sha256:…"],    // always refused
 *     "treatment": { "unendorsed": "refused", "expired": "refused", "deprecated": "downloadable", "revoked": "refused" },
 *     "expiry_warning_days": 30 }
 *
 * Only valid endorsements count (not expired, revoked, unknown, bad or mismatched). Endorsers are
 * named by identity (name@instance) or by key fingerprint; two keys of one identity count once.
 */
export interface TrustPolicy {
  threshold: number;
  endorsers?: string[];
  required_endorsers: string[];
  required_claims: string[];
  deny_endorsers: string[];
  allow_images: string[];
  deny_images: string[];
  allow_digests: string[];
  deny_digests: string[];
  treatment: Record<TrustStatus, Treatment>;
  expiry_warning_days: number;
}

/**
 * What a site does with an image in a state it does not fully trust: `listed` (seen in lists and by
 * id, but not downloaded nor a series' latest), `downloadable` (as if trusted; flagged), `refused`
 * (as if it were not there, for all but its owner and admins).
 */
export const TREATMENTS = ['refused', 'listed', 'downloadable'] as const;
export type Treatment = (typeof TREATMENTS)[number];

/**
 * The states an image can fall short in: `unendorsed` (the threshold is not met), `expired` (it would
 * be, counting expired endorsements), `deprecated` (it or a base is), `revoked` (an endorser's
 * revocation stands against it or a base).
 */
export const TRUST_STATUSES = ['unendorsed', 'expired', 'deprecated', 'revoked'] as const;
export type TrustStatus = (typeof TRUST_STATUSES)[number];

export const DEFAULT_TREATMENT: Readonly<Record<TrustStatus, Treatment>> = { unendorsed: 'refused', expired: 'refused', deprecated: 'downloadable', revoked: 'refused' };

export const DEFAULT_POLICY: TrustPolicy = {
  threshold: 1,
  required_endorsers: [],
  required_claims: [],
  deny_endorsers: [],
  allow_images: [],
  deny_images: [],
  allow_digests: [],
  deny_digests: [],
  treatment: { ...DEFAULT_TREATMENT },
  expiry_warning_days: EXPIRY_WARNING_DAYS,
};

export interface PolicyFailure {
  rule: 'threshold' | 'required_endorsers' | 'required_claims' | 'deny_images' | 'deny_digests' | 'revoked' | 'base_revoked' | 'deprecated' | 'base_deprecated';
  message: string;
}

export interface PolicyVerdict {
  met: boolean;
  /** The identities whose endorsements counted. */
  counted: string[];
  failures: PolicyFailure[];
}

const POLICY_FIELDS = ['threshold', 'endorsers', 'required_endorsers', 'required_claims', 'deny_endorsers', 'allow_images', 'deny_images', 'allow_digests', 'deny_digests', 'treatment', 'expiry_warning_days'];
const IMAGE_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const DIGEST = /^(sha256:[0-9a-f]{64}|sha512:[0-9a-f]{128})$/;
const FINGERPRINT = /^SHA256:[A-Za-z0-9+/]{43}$/;

export function parseTrustPolicy(text: string, source = 'policy'): TrustPolicy {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw invalidField(source, 'json', 'a JSON object', `${source}: not JSON: ${(error as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalidField(source, 'type', 'a JSON object', `${source}: not a JSON object`);
  const v = value as Record<string, unknown>;
  for (const k of Object.keys(v)) if (!POLICY_FIELDS.includes(k)) throw invalidField(k, 'additional-property', POLICY_FIELDS.join(', '), `${source}: ${k} is not a policy field (${POLICY_FIELDS.join(', ')})`);
  const threshold = v['threshold'] ?? 1;
  if (typeof threshold !== 'number' || !Number.isInteger(threshold) || threshold < 0 || threshold > 100) throw invalidField('threshold', 'integer', 'an integer from 0 to 100', `${source}: threshold ${JSON.stringify(threshold)} is not an integer from 0 to 100`);
  const names = (field: string, allowClaims = false): string[] | undefined => {
    const list = v[field];
    if (list === undefined) return undefined;
    const ok = Array.isArray(list) && list.every((x) => typeof x === 'string' && (allowClaims ? x.length > 0 && x.length <= 200 : isQualifiedIdentity(x) || FINGERPRINT.test(x)));
    if (!ok) throw invalidField(field, 'type', allowClaims ? 'a list of claims' : 'a list of name@instance identities or SHA256: key fingerprints', `${source}: ${field} is not ${allowClaims ? 'a list of claims' : 'a list of name@instance identities or SHA256:… fingerprints'}`);
    return list as string[];
  };
  const endorsers = names('endorsers');
  const matching = (field: string, pattern: RegExp, what: string): string[] => {
    const list = v[field] ?? [];
    if (!Array.isArray(list) || !list.every((x) => typeof x === 'string' && pattern.test(x))) throw invalidField(field, 'type', `a list of ${what}`, `${source}: ${field} is not a list of ${what}`);
    return list as string[];
  };
  const treatment = { ...DEFAULT_TREATMENT };
  const given = v['treatment'] ?? {};
  if (typeof given !== 'object' || given === null || Array.isArray(given)) throw invalidField('treatment', 'type', `an object of ${TRUST_STATUSES.join(', ')}`, `${source}: treatment is not an object`);
  for (const [state, t] of Object.entries(given)) {
    if (!(TRUST_STATUSES as readonly string[]).includes(state)) throw invalidField(`treatment.${state}`, 'additional-property', TRUST_STATUSES.join(', '), `${source}: treatment.${state} is not a state (${TRUST_STATUSES.join(', ')})`);
    if (!(TREATMENTS as readonly unknown[]).includes(t)) throw invalidField(`treatment.${state}`, 'enum', TREATMENTS.join(', '), `${source}: treatment.${state} ${JSON.stringify(t)} is not one of ${TREATMENTS.join(', ')}`);
    treatment[state as TrustStatus] = t as Treatment;
  }
  const warn = v['expiry_warning_days'] ?? EXPIRY_WARNING_DAYS;
  if (typeof warn !== 'number' || !Number.isInteger(warn) || warn < 0 || warn > 3650) throw invalidField('expiry_warning_days', 'integer', 'an integer from 0 to 3650', `${source}: expiry_warning_days ${JSON.stringify(warn)} is not an integer from 0 to 3650`);
  return {
    threshold,
    ...(endorsers ? { endorsers } : {}),
    required_endorsers: names('required_endorsers') ?? [],
    required_claims: names('required_claims', true) ?? [],
    deny_endorsers: names('deny_endorsers') ?? [],
    allow_images: matching('allow_images', IMAGE_ID, 'image ids'),
    deny_images: matching('deny_images', IMAGE_ID, 'image ids'),
    allow_digests: matching('allow_digests', DIGEST, 'digests (sha256:<64 hex> or sha512:<128 hex>)'),
    deny_digests: matching('deny_digests', DIGEST, 'digests (sha256:<64 hex> or sha512:<128 hex>)'),
    treatment,
    expiry_warning_days: warn,
  };
}

const names = (e: EndorsementView, who: string) => e.identity === who || e.key === who;

/** Whether an image's endorsements meet the policy, and each rule they fail. */
export function evaluatePolicy(id: string, endorsements: readonly EndorsementView[], policy: TrustPolicy): PolicyVerdict {
  const claims = policy.required_claims;
  const claimsText = claims.length > 0 ? ` claiming ${claims.join(', ')}` : '';
  const valid = endorsements.filter((e) => e.state === 'valid');
  const fromCounted = valid.filter((e) => policy.endorsers === undefined || policy.endorsers.some((who) => names(e, who)));
  const counting = fromCounted.filter((e) => claims.every((c) => e.claims?.includes(c)));
  const counted = [...new Set(counting.map((e) => e.identity!))].sort();
  const failures: PolicyFailure[] = [];
  if (claims.length > 0 && fromCounted.length > counting.length) {
    const lacking = fromCounted.filter((e) => !counting.includes(e)).map((e) => `${e.identity} (claims ${e.claims?.join(', ') || 'nothing'})`);
    failures.push({ rule: 'required_claims', message: `image ${id}: rule required_claims: ${lacking.join(', ')} ${lacking.length === 1 ? 'does' : 'do'} not claim ${claims.join(', ')}` });
  }
  if (counted.length < policy.threshold) {
    const among = policy.endorsers ? ` among ${policy.endorsers.join(', ')}` : '';
    const others = endorsements.filter((e) => e.state !== 'valid').map((e) => `${e.identity ?? e.file}: ${e.state}`);
    failures.push({ rule: 'threshold', message: `image ${id}: rule threshold: ${counted.length} of ${policy.threshold} required endorsers${among} have a valid endorsement${claimsText}${counted.length > 0 ? ` (${counted.join(', ')})` : ''}${others.length > 0 ? `; not counted: ${others.join(', ')}` : ''}` });
  }
  for (const who of policy.required_endorsers) {
    if (!counting.some((e) => names(e, who))) {
      const theirs = endorsements.filter((e) => names(e, who)).map((e) => e.state);
      failures.push({ rule: 'required_endorsers', message: `image ${id}: rule required_endorsers: ${who} has no valid endorsement${claimsText}${theirs.length > 0 ? ` (theirs: ${theirs.join(', ')})` : ''}` });
    }
  }
  // A required claim missing matters only when it cost the threshold or a required endorser.
  const met = !failures.some((f) => f.rule !== 'required_claims');
  return { met, counted, failures: met ? [] : failures };
}

/** One rule an image fails, and what the policy does with an image that fails it. */
export interface JudgedFailure extends PolicyFailure {
  /** deny_* rules: `denied`, always refused. */
  status: TrustStatus | 'denied';
  treatment: Treatment;
  /** base_* rules: the base the failure comes from (whose details a caller who cannot see it is not told). */
  base?: string;
}

/** What a policy makes of one image: the most restrictive treatment among the rules it fails. */
export interface PolicyJudgement {
  id: string;
  treatment: Treatment;
  /** The identities whose endorsements counted. */
  counted: string[];
  /** Rules failed whose treatment is not `downloadable`: the image is not accepted. */
  failures: JudgedFailure[];
  /** Rules failed that the policy lets pass (a deprecated base, by default), and expiry notices. */
  warnings: string[];
  /** The rules failed that the policy lets pass, as failures (their messages begin `warnings`). */
  passed?: JudgedFailure[];
}

const RANK: Record<Treatment, number> = { refused: 0, listed: 1, downloadable: 2 };

/**
 * Judges an image's trust against a policy, every rule at once (deny lists, revocations standing
 * against it or a base, deprecations, then the endorsement threshold unless an allow list takes it).
 * Each failure names the image, the endorser or base, and the rule.
 */
export function judgeTrust(trust: ImageTrust, policy: TrustPolicy): PolicyJudgement {
  const { id } = trust;
  const all: JudgedFailure[] = [];
  const fail = (status: TrustStatus | 'denied', rule: PolicyFailure['rule'], message: string, base?: string) =>
    all.push({ rule, message, status, treatment: status === 'denied' ? 'refused' : policy.treatment[status], ...(base === undefined ? {} : { base }) });
  if (policy.deny_images.includes(id)) fail('denied', 'deny_images', `image ${id}: rule deny_images: the policy refuses this image`);
  if (trust.checksum !== undefined && policy.deny_digests.includes(trust.checksum)) fail('denied', 'deny_digests', `image ${id}: rule deny_digests: the policy refuses digest ${trust.checksum}`);
  const denied = (e: EndorsementView) => policy.deny_endorsers.some((who) => names(e, who));
  const counts = (e: EndorsementView) => !denied(e) && (policy.endorsers === undefined || policy.endorsers.some((who) => names(e, who)));
  const endorsements = trust.endorsements.filter((e) => !denied(e));
  for (const r of standingRevocations(trust.endorsements.filter(counts))) fail('revoked', 'revoked', `image ${id}: rule revoked: ${r.identity} revoked their endorsement: ${r.reason}`);
  for (const f of trust.flags) fail(f.rule === 'base_revoked' ? 'revoked' : 'deprecated', f.rule, f.message, f.rule === 'deprecated' ? undefined : f.image);
  const verdict = evaluatePolicy(id, endorsements, policy);
  const allowed = policy.allow_images.includes(id) || (trust.checksum !== undefined && policy.allow_digests.includes(trust.checksum));
  if (!verdict.met && !allowed) {
    // Expired rather than unendorsed when the policy would be met counting expired endorsements.
    const lapsed = evaluatePolicy(id, endorsements.map((e) => (e.state === 'expired' ? { ...e, state: 'valid' as const } : e)), policy).met;
    for (const f of verdict.failures) fail(lapsed ? 'expired' : 'unendorsed', f.rule, f.message);
  }
  const treatment = all.reduce<Treatment>((worst, f) => (RANK[f.treatment] < RANK[worst] ? f.treatment : worst), 'downloadable');
  const passed = all.filter((f) => f.treatment === 'downloadable');
  const warnings = [...passed.map((f) => f.message), ...trust.warnings];
  return { id, treatment, counted: verdict.counted, failures: all.filter((f) => f.treatment !== 'downloadable'), warnings, ...(passed.length > 0 ? { passed } : {}) };
}

/**
 * The judgement as told to a caller: a base they may not see is named (its id is in the record they
 * see) but not described: its revocation's or deprecation's reason is its own.
 */
export function redactJudgement(judgement: PolicyJudgement, maySee: (id: string) => boolean): PolicyJudgement {
  const hidden = (f: JudgedFailure) => f.base !== undefined && !maySee(f.base);
  if (![...judgement.failures, ...(judgement.passed ?? [])].some(hidden)) return judgement;
  const told = (f: JudgedFailure): JudgedFailure => (hidden(f) ? { ...f, message: `image ${judgement.id}: rule ${f.rule}: built on image ${f.base}, which you cannot see` } : f);
  const passed = (judgement.passed ?? []).map(told);
  const expiry = judgement.warnings.slice((judgement.passed ?? []).length);
  return { ...judgement, failures: judgement.failures.map(told), warnings: [...passed.map((f) => f.message), ...expiry], ...(passed.length > 0 ? { passed } : {}) };
}
