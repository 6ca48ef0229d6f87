import fc from 'fast-check';

/** A JSON Schema node as the OpenAPI document carries it. */
export type JsonSchema = Record<string, unknown>;

export interface SchemaArbitraryOptions {
  /** Follows a `$ref` to its target schema. */
  resolve(schema: JsonSchema): JsonSchema;
  /** Real values by property name (a registered email, the known password), mixed in with random ones. */
  hints?: Record<string, fc.Arbitrary<unknown>>;
}

/** Fields a client must never be able to set; the fuzzer adds them to otherwise valid bodies. */
export const POISON_KEYS = ['role', 'id', 'owner_id', 'created_by', 'disabled', 'password_hash', 'created_at', 'is_admin', 'user_id'];

// Generated strings stay short unless the schema demands more: long strings add time, not coverage
// (the boundary cases below still hit the exact limits).
const MAX_EXTRA_LENGTH = 48;

const EMAIL = fc.oneof(
  {
    weight: 3,
    arbitrary: fc
      .tuple(fc.stringMatching(/^[a-z0-9][a-z0-9._+-]{0,15}$/), fc.constantFrom('example.com', 'example.org', 'mail.example.net'))
      .map(([local, domain]) => `${local}@${domain}`),
  },
  { weight: 1, arbitrary: fc.emailAddress() },
);

const FORMATS: Record<string, fc.Arbitrary<string>> = {
  email: EMAIL,
  'date-time': fc
    .date({ min: new Date('1970-01-01T00:00:00Z'), max: new Date('2100-01-01T00:00:00Z'), noInvalidDate: true })
    .map((d) => d.toISOString()),
  uuid: fc.uuid(),
};

const num = (value: unknown): number | undefined => (typeof value === 'number' ? value : undefined);

function stringOf(schema: JsonSchema): fc.Arbitrary<string> {
  const format = typeof schema.format === 'string' ? FORMATS[schema.format] : undefined;
  if (format) return format;
  const min = num(schema.minLength) ?? 0;
  const limit = num(schema.maxLength);
  const max = Math.min(limit ?? min + MAX_EXTRA_LENGTH, min + MAX_EXTRA_LENGTH);
  const exactly = (n: number) => fc.string({ minLength: n, maxLength: n });
  return fc.oneof(
    { weight: 4, arbitrary: fc.string({ minLength: min, maxLength: max }) },
    { weight: 2, arbitrary: fc.string({ unit: 'grapheme', minLength: min, maxLength: max }) },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', minLength: min, maxLength: max }) },
    { weight: 1, arbitrary: limit === undefined ? exactly(min) : fc.oneof(exactly(min), exactly(limit)) },
  );
}

/** Values the schema accepts (for the keywords the OpenAPI document uses). */
export function validValue(schema: JsonSchema, options: SchemaArbitraryOptions, name?: string): fc.Arbitrary<unknown> {
  const generated = validByType(options.resolve(schema), options);
  const hint = name === undefined ? undefined : options.hints?.[name];
  return hint ? fc.oneof({ weight: 2, arbitrary: hint }, { weight: 3, arbitrary: generated }) : generated;
}

function validByType(schema: JsonSchema, options: SchemaArbitraryOptions): fc.Arbitrary<unknown> {
  const variants = (schema.anyOf ?? schema.oneOf) as JsonSchema[] | undefined;
  if (variants) return fc.oneof(...variants.map((s) => validValue(s, options)));
  if (Array.isArray(schema.enum)) return fc.constantFrom(...(schema.enum as unknown[]));
  if ('const' in schema) return fc.constant(schema.const);
  switch (schema.type) {
    case 'string':
      return stringOf(schema);
    case 'integer':
      return fc.integer({ min: num(schema.minimum) ?? -(2 ** 31), max: num(schema.maximum) ?? 2 ** 31 });
    case 'number':
      return fc.double({ min: num(schema.minimum) ?? -1e9, max: num(schema.maximum) ?? 1e9, noNaN: true, noDefaultInfinity: true });
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    case 'array':
      return fc.array(validValue((schema.items as JsonSchema) ?? {}, options), {
        minLength: num(schema.minItems) ?? 0,
        maxLength: Math.min(num(schema.maxItems) ?? 5, 5),
      });
    case 'object':
      return objectOf(schema, options);
    default:
      return fc.jsonValue();
  }
}

function objectOf(schema: JsonSchema, options: SchemaArbitraryOptions): fc.Arbitrary<Record<string, unknown>> {
  const properties = (schema.properties ?? {}) as Record<string, JsonSchema>;
  const required = (schema.required ?? []) as string[];
  const record = fc.record(Object.fromEntries(Object.entries(properties).map(([key, s]) => [key, validValue(s, options, key)])), {
    requiredKeys: required,
  }) as fc.Arbitrary<Record<string, unknown>>;
  const minProperties = num(schema.minProperties) ?? 0;
  return minProperties > 0 ? record.filter((value) => Object.keys(value).length >= minProperties) : record;
}

/** Values the schema refuses (mostly): wrong types, limits crossed by one, broken objects. */
export function invalidValue(schema: JsonSchema, options: SchemaArbitraryOptions): fc.Arbitrary<unknown> {
  const s = options.resolve(schema);
  const wrongType = fc.oneof(fc.jsonValue(), fc.constantFrom(null, true, 0, -1, 1.5, '', [], {}));
  const targeted: fc.Arbitrary<unknown>[] = [];
  if (s.type === 'string') {
    const min = num(s.minLength);
    const max = num(s.maxLength);
    if (min !== undefined && min > 0) targeted.push(fc.constant('x'.repeat(min - 1)));
    if (max !== undefined) targeted.push(fc.constant('y'.repeat(max + 1)));
    if (s.format === 'email') targeted.push(fc.constantFrom('not-an-email', 'a@', '@b.c', 'a@b', 'a b@c.d', 'a@b..c'));
  }
  if (s.type === 'integer') {
    const min = num(s.minimum);
    const max = num(s.maximum);
    if (min !== undefined) targeted.push(fc.constant(min - 1));
    if (max !== undefined) targeted.push(fc.constant(max + 1));
    targeted.push(fc.constantFrom(0.5, '7', 1e308, -0, Number.MAX_SAFE_INTEGER + 2));
  }
  if (s.type === 'object') {
    const valid = objectOf(s, options);
    const required = (s.required ?? []) as string[];
    if (required.length > 0) {
      targeted.push(
        fc.tuple(valid, fc.constantFrom(...required)).map(([value, key]) => {
          const copy = { ...value };
          delete copy[key];
          return copy;
        }),
      );
    }
    targeted.push(
      fc.tuple(valid, fc.constantFrom(...POISON_KEYS), fc.jsonValue()).map(([value, key, extra]) => ({ ...value, [key]: extra })),
    );
    const keys = Object.keys((s.properties ?? {}) as object);
    if (keys.length > 0) {
      targeted.push(fc.tuple(valid, fc.constantFrom(...keys), wrongType).map(([value, key, wrong]) => ({ ...value, [key]: wrong })));
    }
  }
  return targeted.length > 0 ? fc.oneof({ weight: 1, arbitrary: wrongType }, { weight: 3, arbitrary: fc.oneof(...targeted) }) : wrongType;
}

/**
 * A request body as text: valid JSON for the schema, structurally invalid JSON, random JSON,
 * malformed text, prototype-poisoning keys, or a body over the size limit.
 */
export function bodyText(schema: JsonSchema, options: SchemaArbitraryOptions): fc.Arbitrary<string> {
  const valid = validValue(schema, options).map((v) => JSON.stringify(v));
  return fc.oneof(
    { weight: 6, arbitrary: valid },
    { weight: 4, arbitrary: invalidValue(schema, options).map((v) => JSON.stringify(v) ?? 'null') },
    { weight: 1, arbitrary: fc.jsonValue().map((v) => JSON.stringify(v)) },
    { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 40 }) },
    { weight: 1, arbitrary: fc.tuple(valid, fc.nat()).map(([text, cut]) => text.slice(0, cut % Math.max(1, text.length))) },
    {
      weight: 1,
      arbitrary: fc
        .tuple(valid, fc.constantFrom('"__proto__":{"role":"admin"}', '"constructor":{"prototype":{"role":"admin"}}'))
        .map(([text, poison]) => (text === '{}' ? `{${poison}}` : text.replace(/^\{/, `{${poison},`))),
    },
    { weight: 1, arbitrary: valid.map((text) => text.replace(/^\{/, `{"padding":"${'p'.repeat(70 * 1024)}",`)) },
  );
}
