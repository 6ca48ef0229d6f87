// The TOTP QR code of /account: the server's SVG, shown only if it is nothing but drawing.

const SVG_NS = 'http://www.w3.org/2000/svg';
// What the server's QR code (qrcode's SVG) is made of; anything else is refused, not shown.
const QR_ELEMENTS = new Set(['svg', 'path', 'rect']);
const QR_ATTRIBUTES = new Set(['xmlns', 'viewBox', 'width', 'height', 'shape-rendering', 'fill', 'stroke', 'd', 'x', 'y']);

// Trusted Types are not in TypeScript's DOM library yet: the part used here.
interface TrustedTypePolicy {
  createHTML(input: string): string;
}
interface TrustedTypesWindow {
  trustedTypes?: { createPolicy(name: string, rules: { createHTML(input: string): string }): TrustedTypePolicy };
}

let qrPolicy: TrustedTypePolicy | undefined;

/**
 * The server's SVG as a node, or null. DOMParser is a Trusted Types sink, so the string passes
 * through the one policy the CSP allows; it parses into an inert document (no script runs there),
 * and the node is adopted only if every element and attribute is on the allow-list above, so no
 * script, event handler, link or style can come with it.
 */
export function qrCodeElement(svgText: string): SVGSVGElement | null {
  // createPolicy may run once per name (the CSP allows no duplicates), hence the cache.
  qrPolicy ??= (window as TrustedTypesWindow).trustedTypes?.createPolicy('gatehouse-qr-svg', { createHTML: (text) => text });
  // With Trusted Types the policy's result is a TrustedHTML, which parseFromString takes as a string.
  const doc = new DOMParser().parseFromString(qrPolicy ? qrPolicy.createHTML(svgText) : svgText, 'image/svg+xml');
  const root = doc.documentElement;
  for (const node of [root, ...root.querySelectorAll('*')]) {
    if (node.namespaceURI !== SVG_NS || !QR_ELEMENTS.has(node.localName)) return null;
    for (const attribute of node.attributes) if (!QR_ATTRIBUTES.has(attribute.name)) return null;
  }
  const svg = document.adoptNode(root);
  if (!(svg instanceof SVGSVGElement)) return null;
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', 'QR code with the key, for your authenticator app');
  return svg;
}
