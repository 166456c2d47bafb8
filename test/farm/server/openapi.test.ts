/**
 * The OpenAPI document: 3.1, every registered route with its method, every `$ref` resolves, every schema compiles
 * (JSON Schema 2020-12, OpenAPI 3.1's dialect), and every operation is a method of the client.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { createClient } from '../../../src/farm/client/index.js';
import { startFarm, type TestFarm } from './helpers.js';

type Doc = {
  openapi: string;
  info: { version: string };
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, unknown>; responses: Record<string, unknown> };
};
type Operation = {
  operationId: string;
  parameters: { name: string; in: string; required: boolean; schema: unknown }[];
  requestBody?: { content: Record<string, { schema: unknown }> };
  responses: Record<string, { $ref?: string; content?: Record<string, { schema: unknown }> }>;
};

describe('OpenAPI document', () => {
  let test: TestFarm;
  let doc: Doc;
  before(async () => {
    test = await startFarm();
    const response = await fetch(`${test.url}/api/v1/openapi.json`);
    assert.equal(response.status, 200);
    doc = (await response.json()) as Doc;
  });
  after(async () => {
    await test.close();
  });

  it('should be OpenAPI 3.1 with the server version', () => {
    assert.equal(doc.openapi, '3.1.0');
    assert.equal(doc.info.version, '9.9.9-test');
  });

  it('should describe every route fastify registered, with its method and path parameters', () => {
    assert.ok(test.routes.length >= 27, `${test.routes.length} routes`);
    for (const route of test.routes) {
      const path = route.url.replace(/:([A-Za-z]+)/g, '{$1}');
      const methods = [route.method].flat();
      for (const method of methods) {
        const operation = doc.paths[path]?.[method.toLowerCase()];
        assert.ok(operation, `${method} ${path} is documented`);
        for (const [, name] of route.url.matchAll(/:([A-Za-z]+)/g))
          assert.ok(
            operation.parameters.some((p) => p.in === 'path' && p.name === name && p.required),
            `${path} {${name}}`,
          );
      }
    }
    const documented = Object.values(doc.paths).reduce((n, ops) => n + Object.keys(ops).length, 0);
    assert.equal(documented, test.routes.length, 'and nothing else');
  });

  it('should resolve every $ref', () => {
    const refs: string[] = [];
    const walk = (node: unknown) => {
      if (Array.isArray(node)) node.forEach(walk);
      else if (node && typeof node === 'object') {
        for (const [key, value] of Object.entries(node)) {
          if (key === '$ref' && typeof value === 'string') refs.push(value);
          else walk(value);
        }
      }
    };
    walk(doc);
    assert.ok(refs.length > 50, `${refs.length} refs`);
    for (const ref of new Set(refs)) {
      assert.match(ref, /^#\//, ref);
      let node: unknown = doc;
      for (const part of ref.slice(2).split('/')) node = (node as Record<string, unknown> | undefined)?.[part];
      assert.ok(node && typeof node === 'object', `${ref} resolves`);
    }
  });

  it('should have schemas that compile as JSON Schema 2020-12', () => {
    const ajv = new Ajv2020({ strict: true, allowUnionTypes: true, discriminator: true });
    // The components, under an id of their own, with the document's refs pointed at them.
    const retarget = (node: unknown): unknown =>
      JSON.parse(JSON.stringify(node).replaceAll('"#/components/schemas/', '"urn:corral:components#/$defs/'));
    ajv.addSchema({ $id: 'urn:corral:components', $defs: retarget(doc.components.schemas) as object });
    let compiled = 0;
    for (const name of Object.keys(doc.components.schemas)) {
      ajv.compile({ $ref: `urn:corral:components#/$defs/${name}` });
      compiled++;
    }
    for (const [path, operations] of Object.entries(doc.paths)) {
      for (const [method, operation] of Object.entries(operations)) {
        const schemas = [
          ...operation.parameters.map((p) => p.schema),
          ...Object.values(operation.requestBody?.content ?? {}).map((c) => c.schema),
          ...Object.values(operation.responses).flatMap((r) => Object.values(r.content ?? {}).map((c) => c.schema)),
        ];
        for (const schema of schemas) {
          assert.doesNotThrow(() => ajv.compile(retarget(schema) as object), `${method} ${path}`);
          compiled++;
        }
      }
    }
    assert.ok(compiled > 100, `${compiled} schemas`);
    // Tuples are in 2020-12 form.
    const logBatch = JSON.stringify(doc.components.schemas.LogBatch);
    assert.ok(logBatch.includes('prefixItems') && !logBatch.includes('additionalItems'), logBatch);
  });

  it('should name each operation after the client method that calls it', () => {
    const client = createClient({ url: test.url }) as unknown as Record<string, unknown>;
    const missing = Object.values(doc.paths)
      .flatMap((operations) => Object.values(operations).map((o) => o.operationId))
      .filter((id) => id !== 'openApi' && typeof client[id] !== 'function');
    assert.deepEqual(missing, []);
  });

  it('should document errors once, for every operation', () => {
    for (const operations of Object.values(doc.paths)) {
      for (const operation of Object.values(operations)) {
        assert.equal(operation.responses['500']?.$ref, '#/components/responses/E500');
      }
    }
    assert.ok(doc.paths['/api/v1/jobs']!.post!.responses['422'], 'submissions may answer 422');
  });
});
