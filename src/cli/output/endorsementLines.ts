import type { EndorsementView } from '../../trust/EndorsementState.ts';
import type { ImageTrust } from '../../trust/ImageTrust.ts';

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

/** The image's deprecation and its bases, nearest first, each with what flags it. */
export function trustLines(trust: ImageTrust): string[] {
  const lines: string[] = [];
  if (trust.deprecation) lines.push(`deprecated: ${trust.deprecation.reason}${trust.deprecation.replaced_by ? ` (use image ${trust.deprecation.replaced_by})` : ''}`);
  if (trust.ancestry.length > 0) {
    lines.push('built from');
    for (const a of trust.ancestry) {
      const notes = [
        ...(a.missing ? ['not in the catalogue (or not yours to see)'] : []),
        ...(a.deprecation ? [`deprecated: ${a.deprecation.reason}`] : []),
        ...(a.revoked ?? []).map((r) => `revoked by ${r.identity}: ${r.reason}`),
      ];
      lines.push(`  ${'  '.repeat(a.generation - 1)}${a.id}${notes.length > 0 ? `  ${notes.join('; ')}` : ''}`);
    }
  }
  return lines;
}
