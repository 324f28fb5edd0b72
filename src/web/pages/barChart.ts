import { html, type SafeHtml } from '../Html.ts';

export interface Bar {
  label: string;
  value: number;
  /** How the value is written beside its bar (the number itself by default). */
  shown?: string;
}

const ROW = 22;
const LABEL_WIDTH = 220;
const BAR_WIDTH = 360;

/**
 * A horizontal bar chart as inline SVG, drawn on the server: no script, and nothing the page's
 * Content-Security-Policy would block (colours are presentation attributes, not style). Labels are
 * escaped like any other text.
 */
export function barChart(title: string, bars: readonly Bar[]): SafeHtml {
  if (bars.length === 0) return html`<p class="muted">${title}: nothing yet.</p>`;
  const max = Math.max(1, ...bars.map((b) => b.value));
  const height = bars.length * ROW + 4;
  const width = LABEL_WIDTH + BAR_WIDTH + 120;
  return html`<figure>
  <figcaption>${title}</figcaption>
  <svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="${title}" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">
    ${bars.map((b, i) => {
      const y = i * ROW + 2;
      const w = Math.max(1, Math.round((b.value / max) * BAR_WIDTH));
      const label = b.label.length > 32 ? `${b.label.slice(0, 31)}…` : b.label;
      return html`<g>
      <title>${b.label}: ${b.shown ?? String(b.value)}</title>
      <text x="${LABEL_WIDTH - 6}" y="${y + 15}" text-anchor="end" font-size="12" fill="currentColor">${label}</text>
      <rect x="${LABEL_WIDTH}" y="${y + 3}" width="${w}" height="${ROW - 6}" fill="#2563eb"></rect>
      <text x="${LABEL_WIDTH + w + 6}" y="${y + 15}" font-size="12" fill="currentColor">${b.shown ?? String(b.value)}</text>
    </g>`;
    })}
  </svg>
</figure>`;
}
