import { invalidField } from '../errors/VisorError.ts';
import type { EndorsementView } from './EndorsementState.ts';
import { isQualifiedIdentity } from './EndorsementStatement.ts';

/**
 * What a site requires of an image's endorsements before it trusts the image (`visor verify
 * --policy FILE`). One JSON file, every field optional:
 *
 *   { "threshold": 2,                                  // distinct endorsers, default 1
 *     "endorsers": ["alice@site-a", "SHA256:…"],        // who counts (default: anyone the catalogue lists)
 *     "required_endorsers": ["cert-team@site-b"],      // each of these must be among them
 *     "required_claims": ["tested"] }                  // an endorsement counts only if it makes these
 *
 * Only valid endorsements count (not expired, revoked, unknown, bad or mismatched). Endorsers are
 * named by identity (name@instance) or by key fingerprint; two keys of one identity count once.
 */
export interface TrustPolicy {
  threshold: number;
  endorsers?: string[];
  required_endorsers: string[];
  required_claims: string[];
}

export const DEFAULT_POLICY: TrustPolicy = { threshold: 1, required_endorsers: [], required_claims: [] };

export interface PolicyFailure {
  rule: 'threshold' | 'required_endorsers' | 'required_claims';
  message: string;
}

export interface PolicyVerdict {
  met: boolean;
  /** The identities whose endorsements counted. */
  counted: string[];
  failures: PolicyFailure[];
}

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
  for (const k of Object.keys(v)) if (!['threshold', 'endorsers', 'required_endorsers', 'required_claims'].includes(k)) throw invalidField(k, 'additional-property', 'threshold, endorsers, required_endorsers, required_claims', `${source}: ${k} is not a policy field (threshold, endorsers, required_endorsers, required_claims)`);
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
  return { threshold, ...(endorsers ? { endorsers } : {}), required_endorsers: names('required_endorsers') ?? [], required_claims: names('required_claims', true) ?? [] };
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
