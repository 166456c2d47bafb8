/**
 * @module The OpenAPI 3.1 document, built from the route table and the very schema objects fastify validates with.
 * Schemas listed in `NAMED_SCHEMAS` become `components.schemas` and are referred to by `$ref` wherever the same
 * object appears; draft-07 tuples are rewritten to 2020-12 `prefixItems`, the dialect of OpenAPI 3.1.
 */
import type { AnyRoute } from './context.js';
import { type JsonSchema, NAMED_SCHEMAS } from './schemas.js';

const names = new Map<unknown, string>(Object.entries(NAMED_SCHEMAS).map(([name, schema]) => [schema, name]));

/** Copies a schema for the document: named sub-schemas become `$ref`s, tuples become `prefixItems`. */
function convert(schema: unknown, top = false): unknown {
  if (Array.isArray(schema)) return schema.map((item) => convert(item));
  if (schema === null || typeof schema !== 'object') return schema;
  const name = names.get(schema);
  if (!top && name !== undefined) return { $ref: `#/components/schemas/${name}` };
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(schema)) {
    // Keys that hold property names or literal values are copied as they are, never converted.
    out[key] = key === 'enum' || key === 'const' || key === 'required' ? value : convert(value);
  }
  if (Array.isArray(out.items)) {
    out.prefixItems = out.items;
    if ('additionalItems' in out) out.items = out.additionalItems;
    else delete out.items;
    delete out.additionalItems;
  }
  if (out.properties && typeof out.properties === 'object') {
    // `properties` maps names to schemas: convert each value, never treat a name as a keyword.
    out.properties = Object.fromEntries(
      Object.entries((schema as JsonSchema).properties as Record<string, unknown>).map(([key, value]) => [
        key,
        convert(value),
      ]),
    );
  }
  return out;
}

const ERROR_STATUS: Record<number, string> = {
  400: 'The request is malformed: the message and `issues` name the field.',
  401: 'No token, or an unknown or revoked one.',
  403: "The token's kind may not do this.",
  404: 'No such route, or no job, task, worker, queue or token with that id or name.',
  409: 'The request conflicts with the current state.',
  413: 'The body, a template or the log lines are larger than the server accepts (see /api/v1/health).',
  422: 'The template, an environment template or the parameter values are invalid; `issues` locate each problem (path, line, column).',
  500: 'The server failed; its log has the details.',
};

function parameters(where: 'path' | 'query', schema: JsonSchema | undefined) {
  if (!schema) return [];
  const required = new Set((schema.required as string[] | undefined) ?? []);
  return Object.entries(schema.properties as Record<string, JsonSchema>).map(([name, property]) => ({
    name,
    in: where,
    required: where === 'path' || required.has(name),
    schema: convert(property),
  }));
}

function operation(spec: AnyRoute) {
  const { schema } = spec;
  const [status, reply] = Object.entries(schema.response)[0]!;
  const media = spec.produces ?? 'application/json';
  const errors = new Set<number>([500]);
  if (schema.params || schema.querystring || schema.body) errors.add(400);
  if (spec.access !== 'public') errors.add(401).add(403);
  if (schema.params) errors.add(404);
  if (schema.body) errors.add(413);
  if (spec.method !== 'GET') errors.add(409);
  if (spec.takesTemplates) errors.add(422);
  return {
    operationId: spec.name,
    summary: spec.summary,
    tags: [spec.tag],
    security: spec.access === 'public' ? [] : [{ bearer: [] }],
    'x-corral-access': spec.access,
    parameters: [...parameters('path', schema.params), ...parameters('query', schema.querystring)],
    ...(schema.body
      ? { requestBody: { required: true, content: { 'application/json': { schema: convert(schema.body) } } } }
      : {}),
    responses: {
      [status]: { description: spec.summary, content: { [media]: { schema: convert(reply) } } },
      ...Object.fromEntries([...errors].sort().map((code) => [code, { $ref: `#/components/responses/E${code}` }])),
    },
  };
}

/** The OpenAPI 3.1 document of the routes. */
export function buildOpenApi(options: { routes: readonly AnyRoute[]; version: string }) {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const spec of options.routes) {
    const path = spec.url.replace(/:([A-Za-z]+)/g, '{$1}');
    paths[path] ??= {};
    paths[path][spec.method.toLowerCase()] = operation(spec);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Corral farm API',
      version: options.version,
      description:
        'Submit and steer Open Job Description jobs, run workers, watch the farm. Every error answers ' +
        '`{ "error": { "code", "message", "issues"? } }`; codes are listed in docs/errors.md.',
    },
    jsonSchemaDialect: 'https://spec.openapis.org/oas/3.1/dialect/base',
    paths,
    components: {
      schemas: Object.fromEntries(Object.entries(NAMED_SCHEMAS).map(([name, schema]) => [name, convert(schema, true)])),
      responses: Object.fromEntries(
        Object.entries(ERROR_STATUS).map(([code, description]) => [
          `E${code}`,
          { description, content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } },
        ]),
      ),
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          description:
            'A Corral token (`corral tokens create`). Kinds: admin > user; agent tokens only register workers; a ' +
            "worker's own token only syncs that worker. GET /api/v1/stream also takes it as `?access_token=`.",
        },
      },
    },
  };
}
