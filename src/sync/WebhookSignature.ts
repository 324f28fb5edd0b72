import { createHmac, timingSafeEqual } from 'node:crypto';

/** The headers of a forge's push notification that can prove it knows the shared secret. */
export interface WebhookProof {
  /** GitHub, Gitea and Forgejo: `sha256=<hex HMAC-SHA256 of the body>`. */
  hubSignature256?: string | undefined;
  /** Gitea and Forgejo, also: the bare hex HMAC-SHA256 of the body. */
  giteaSignature?: string | undefined;
  /** GitLab: the secret itself. */
  gitlabToken?: string | undefined;
}

/** Whether the proof needs the body (an HMAC of it) or only the headers (GitLab's token). */
export function proofNeedsBody(proof: WebhookProof): boolean {
  return proof.gitlabToken === undefined && (proof.hubSignature256 !== undefined || proof.giteaSignature !== undefined);
}

/**
 * Whether a notification comes from someone holding the upstream's webhook secret. Comparisons take
 * the same time whatever the input, so a guess learns nothing from how long the answer took.
 */
export function verifyWebhook(proof: WebhookProof, secret: string, bodyHmacHex: string | undefined): boolean {
  if (proof.gitlabToken !== undefined) return sameText(proof.gitlabToken, secret);
  if (bodyHmacHex === undefined) return false;
  if (proof.hubSignature256 !== undefined) return proof.hubSignature256.startsWith('sha256=') && sameText(proof.hubSignature256.slice(7).toLowerCase(), bodyHmacHex);
  if (proof.giteaSignature !== undefined) return sameText(proof.giteaSignature.toLowerCase(), bodyHmacHex);
  return false;
}

/** An HMAC-SHA256 of a body as it streams: `update` with each chunk, then `hex()`. */
export function bodyHmac(secret: string): { update(chunk: Buffer): void; hex(): string } {
  const hmac = createHmac('sha256', secret);
  return {
    update: (chunk) => void hmac.update(chunk),
    hex: () => hmac.digest('hex'),
  };
}

/** Constant-time equality of two strings (hashed first: timingSafeEqual needs equal lengths). */
function sameText(a: string, b: string): boolean {
  const digest = (s: string) => createHmac('sha256', 'visor-compare').update(s).digest();
  return timingSafeEqual(digest(a), digest(b));
}
