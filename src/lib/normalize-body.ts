/**
 * Trims the named top-level string fields of a parsed JSON body in place (and lower-cases
 * `email`), before schema validation, so " Ada@Example.COM " is stored as "ada@example.com".
 */
export function normalizeBodyFields(body: unknown, fields: readonly string[]): void {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return;
  const record = body as Record<string, unknown>;
  for (const field of fields) {
    const value = record[field];
    if (typeof value !== 'string') continue;
    record[field] = field === 'email' ? value.trim().toLowerCase() : value.trim();
  }
}
