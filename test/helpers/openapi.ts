import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ValidateFunction } from 'ajv';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

export interface MediaType {
  schema?: Record<string, unknown>;
  example?: unknown;
  examples?: Record<string, { summary?: string; value: unknown }>;
}

export interface ResponseObject {
  description: string;
  headers?: Record<string, { description?: string; schema?: Record<string, unknown> }>;
  content?: Record<string, MediaType>;
}

export interface Operation {
  tags?: string[];
  summary?: string;
  description?: string;
  security?: Record<string, string[]>[];
  parameters?: { in: string; name: string; required?: boolean; schema?: Record<string, unknown> }[];
  requestBody?: { required?: boolean; content: Record<string, MediaType> };
  responses: Record<string, ResponseObject>;
}

export interface OpenApiDocument {
  openapi: string;
  info: { title: string; version: string; description?: string };
  tags?: { name: string; description?: string }[];
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, Record<string, unknown>>; securitySchemes: Record<string, Record<string, unknown>> };
}

export interface DocumentedOperation {
  method: string;
  path: string;
  /** `METHOD /path`, as the contract writes routes. */
  route: string;
  operation: Operation;
}

const HTTP_METHODS = new Set(['get', 'post', 'put', 'patch', 'delete', 'head', 'options']);

/** Every operation of the document, in document order. */
export function operationsOf(doc: OpenApiDocument): DocumentedOperation[] {
  return Object.entries(doc.paths).flatMap(([path, item]) =>
    Object.entries(item)
      .filter(([method]) => HTTP_METHODS.has(method))
      .map(([method, operation]) => ({ method: method.toUpperCase(), path, route: `${method.toUpperCase()} ${path}`, operation })),
  );
}

/** The example a media type documents (the first one when there are several). */
export function firstExample(media: MediaType | undefined): unknown {
  if (!media) return undefined;
  if (media.example !== undefined) return media.example;
  return Object.values(media.examples ?? {})[0]?.value;
}

const DOCUMENT_ID = 'https://gatehouse.invalid/openapi.json';
const COMPONENT_REF = '#/components/schemas/';

// Component refs are document-relative; rewritten to point into one registered schema so that
// ajv resolves them (and their own nested refs) without knowing about OpenAPI.
function rewriteRefs(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(rewriteRefs);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, inner]) =>
      key === '$ref' && typeof inner === 'string' && inner.startsWith(COMPONENT_REF)
        ? [key, `${DOCUMENT_ID}#/$defs/${inner.slice(COMPONENT_REF.length)}`]
        : [key, rewriteRefs(inner)],
    ),
  );
}

/**
 * Compiles schemas taken from an OpenAPI 3.1 document (JSON Schema 2020-12) with ajv and
 * ajv-formats, resolving `#/components/schemas/*` references.
 */
export function schemaCompiler(doc: OpenApiDocument): (schema: Record<string, unknown>) => ValidateFunction {
  // strict: false because OpenAPI adds annotation keywords (example) ajv does not know.
  const ajv = new Ajv2020({ allErrors: true, strict: false });
  addFormats.default(ajv);
  ajv.addSchema({ $id: DOCUMENT_ID, $defs: rewriteRefs(doc.components.schemas) });
  const cache = new Map<string, ValidateFunction>();
  return (schema) => {
    const key = JSON.stringify(schema);
    let validate = cache.get(key);
    if (!validate) {
      validate = ajv.compile(rewriteRefs(schema) as Record<string, unknown>);
      cache.set(key, validate);
    }
    return validate;
  };
}

/** The HTTP contract: the project's own copy, so a fresh clone needs nothing outside itself. */
export function readContract(): string {
  return readFileSync(join(import.meta.dirname, '..', '..', 'docs', 'api-contract.md'), 'utf8');
}

const ROUTE_CELL = /^((?:GET|POST|PUT|PATCH|DELETE)(?:\s*,\s*(?:GET|POST|PUT|PATCH|DELETE))*)\s+(\/\S*)$/;

/**
 * `METHOD /path` of every route row in the contract's markdown tables; a row such as
 * `GET, PATCH, DELETE /bucketlists/{id}` yields one route per method.
 */
export function contractRoutes(markdown: string): string[] {
  const routes: string[] = [];
  for (const line of markdown.split('\n')) {
    if (!line.startsWith('|')) continue;
    const firstCell = line.split('|')[1]?.trim() ?? '';
    const match = ROUTE_CELL.exec(firstCell);
    if (!match) continue;
    const [, methods = '', path = ''] = match;
    for (const method of methods.split(',')) routes.push(`${method.trim()} ${path}`);
  }
  return routes;
}
