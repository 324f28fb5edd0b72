import escapeHtml from 'escape-html';

/**
 * Markup that is safe to send: made only by the `html` tag, which escapes every interpolated value
 * that is not itself SafeHtml. A page is built from these and nothing else, so a value reaches a page
 * escaped by construction (an image named `<script>` comes out as text), never by remembering to.
 */
export class SafeHtml {
  readonly #text: string;

  private constructor(text: string) {
    this.#text = text;
  }

  toString(): string {
    return this.#text;
  }

  /** Only for the tag below: markup is never made from a string anywhere else. */
  static fromTemplate(strings: TemplateStringsArray, values: readonly Interpolated[]): SafeHtml {
    let out = strings[0]!;
    for (let i = 0; i < values.length; i++) out += render(values[i]) + strings[i + 1]!;
    return new SafeHtml(out);
  }
}

/** What a template may interpolate: text (escaped), markup, lists of either, or nothing. */
export type Interpolated = SafeHtml | string | number | boolean | null | undefined | readonly Interpolated[];

function render(value: Interpolated): string {
  if (value instanceof SafeHtml) return value.toString();
  // false, null and undefined render as nothing, so `${cond && html`…`}` reads naturally.
  if (value === undefined || value === null || value === false) return '';
  if (Array.isArray(value)) return (value as readonly Interpolated[]).map(render).join('');
  return escapeHtml(String(value));
}

/** The tag every page is written with: html`<p>${name}</p>` escapes `name`. */
export function html(strings: TemplateStringsArray, ...values: Interpolated[]): SafeHtml {
  return SafeHtml.fromTemplate(strings, values);
}
