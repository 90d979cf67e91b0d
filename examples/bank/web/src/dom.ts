/** Attributes, text and event handlers of an element built by {@link h}. */
export interface ElementProps {
  class?: string;
  text?: string;
  attrs?: Record<string, string | boolean | undefined>;
  on?: Partial<Record<keyof HTMLElementEventMap, (event: Event) => void>>;
}

/**
 * Builds an element with text content and children. Nothing is ever parsed as HTML, which keeps
 * the app usable under the Trusted Types CSP.
 */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: ElementProps = {},
  children: ReadonlyArray<Node | string | undefined> = [],
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  if (props.class !== undefined) element.className = props.class;
  if (props.text !== undefined) element.textContent = props.text;
  for (const [name, value] of Object.entries(props.attrs ?? {})) {
    if (value === true) element.setAttribute(name, '');
    else if (typeof value === 'string') element.setAttribute(name, value);
  }
  for (const [name, handler] of Object.entries(props.on ?? {})) {
    element.addEventListener(name, handler);
  }
  for (const child of children) {
    if (child !== undefined) element.append(child);
  }
  return element;
}

/** Builds an SVG element with attributes. */
export function svg<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | number> = {},
  children: ReadonlyArray<Node> = [],
): SVGElementTagNameMap[K] {
  const element = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [name, value] of Object.entries(attrs)) element.setAttribute(name, String(value));
  element.append(...children);
  return element;
}

/** Returns the element with `id`, which the page's HTML must contain. */
export function byId(id: string): HTMLElement {
  const element = document.getElementById(id);
  if (element === null) throw new Error(`the page has no element #${id}`);
  return element;
}

/** Formats a decimal amount string such as `-25.00` with its currency for display. */
export function formatMoney(amount: string, currency: string): string {
  return new Intl.NumberFormat('en-IE', { style: 'currency', currency }).format(Number(amount));
}

/** Formats an ISO 8601 time for display in the user's time zone. */
export function formatTime(iso: string): string {
  return new Intl.DateTimeFormat('en-GB', { dateStyle: 'medium', timeStyle: 'medium' }).format(
    new Date(iso),
  );
}
