// DOM helpers of the pages. The CSP's Trusted Types forbid markup strings (innerHTML and the
// like), so every node is made with createElement and filled with textContent.

/**
 * The element with this id, checked to be of the expected kind. The markup comes from the
 * server's views (src/modules/account-pages); a missing or different element is a bug in one of
 * the two, and failing here says which id.
 */
export function byId<T extends HTMLElement>(id: string, kind: { new (): T; prototype: T }): T {
  const node = document.getElementById(id);
  if (!(node instanceof kind)) throw new Error(`#${id} is missing or not a ${kind.name}`);
  return node;
}

/** An element with text and a class. */
export function element<K extends keyof HTMLElementTagNameMap>(tag: K, text?: string, className?: string): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (className) node.className = className;
  return node;
}

export type MessageKind = 'success' | 'error' | 'progress';

/**
 * Writes into a live region (role="status"), a summary and one line per item of `lines`.
 * Returns the region, which a caller focuses when the control that had the focus goes away.
 */
export function showMessage(kind: MessageKind, summary: string, lines: readonly string[] = [], regionId = 'message'): HTMLElement {
  const region = byId(regionId, HTMLElement);
  region.className = `message ${kind}`;
  const children: HTMLElement[] = [element('p', summary)];
  if (lines.length > 0) {
    const list = element('ul');
    for (const line of lines) list.append(element('li', line));
    children.push(list);
  }
  region.replaceChildren(...children);
  return region;
}

export function clearMessage(regionId: string): void {
  const region = byId(regionId, HTMLElement);
  region.className = 'message';
  region.replaceChildren();
}

/**
 * Whether nothing usable holds the focus: the body has it, or a control that was disabled or
 * hidden still does (browsers move the focus off such a control only at their next rendering,
 * so right after a dialog closes, its button may still be the active element).
 */
function focusLost(): boolean {
  const active = document.activeElement;
  if (!(active instanceof HTMLElement) || active === document.body) return true;
  return active.matches(':disabled') || active.getClientRects().length === 0;
}

/**
 * Disables a button (or a form's submit button) while its action runs, so one press sends one
 * request. A disabled button loses the focus; when nothing else took it meanwhile (a dialog
 * that opened and closed, say), it goes back to the button, so a keyboard user stays in place.
 */
export async function whileBusy<T>(target: HTMLFormElement | HTMLButtonElement, action: () => Promise<T>): Promise<T> {
  const button = target instanceof HTMLFormElement ? target.querySelector('button[type="submit"]') : target;
  if (!(button instanceof HTMLButtonElement)) throw new Error('whileBusy needs a button or a form with a submit button');
  const hadFocus = target.contains(document.activeElement);
  button.disabled = true;
  target.setAttribute('aria-busy', 'true');
  try {
    return await action();
  } finally {
    target.removeAttribute('aria-busy');
    button.disabled = false;
    if (hadFocus && focusLost() && button.isConnected && button.getClientRects().length > 0) button.focus();
  }
}

/** An RFC 3339 time as the reader's locale writes it; '' for none. */
export const formatTime = (iso: string | null | undefined): string =>
  iso ? new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' }) : '';
