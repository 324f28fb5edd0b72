import type { EndorsementView } from '../../trust/EndorsementState.ts';

/** One line per endorsement: state, endorser, claims, expiry; why, when it does not count. */
export function endorsementLines(endorsements: readonly EndorsementView[]): string[] {
  if (endorsements.length === 0) return ['no endorsements'];
  return endorsements.map((e) => {
    const claims = e.claims && e.claims.length > 0 ? ` claims ${e.claims.join(', ')}` : '';
    const expiry = e.expires_at ? ` expires ${e.expires_at}${e.expires_soon ? ' (soon)' : ''}` : '';
    const why = e.state === 'valid' ? '' : `: ${e.reason ?? ''}`;
    return `${e.state.padEnd(14)} ${e.identity ?? '?'}${claims}${expiry}${why}`;
  });
}
