/**
 * The public API is exactly what package.json `exports` lists: each subpath imports through the package name and
 * exposes its documented names; internal modules are not reachable.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { it } from 'node:test';
import { repoRoot } from './helpers/cli.js';

const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as {
  name: string;
  exports: Record<string, { types?: string; import?: string } | string>;
};

it('builds every exported file', () => {
  for (const [subpath, target] of Object.entries(pkg.exports)) {
    if (typeof target === 'string') continue;
    for (const file of [target.import, target.types]) {
      assert.ok(file && existsSync(join(repoRoot, file)), `${subpath}: ${file} is missing (run the build)`);
    }
  }
});

it('exposes corral/model by package name', async () => {
  const model = await import(`${pkg.name}/model`);
  for (const name of [
    'decodeJobTemplate',
    'decodeEnvironmentTemplate',
    'decodeTemplate',
    'preprocessJobParameterValues',
    'mergeJobParameterDefinitions',
    'createJob',
    'StepParameterSpace',
    'IntRangeExpr',
    'parseFormatString',
    'resolveFormatString',
    'templateJsonSchema',
    'CorralError',
    'TemplateError',
    'ModelErrorCode',
  ]) {
    assert.ok(name in model, `corral/model exports ${name}`);
  }
});

it('exposes corral/session by package name', async () => {
  const session = await import(`${pkg.name}/session`);
  for (const name of [
    'Session',
    'SessionState',
    'ActionState',
    'createLauncher',
    'PathMapper',
    'parsePathMappingDocument',
  ]) {
    assert.ok(name in session, `corral/session exports ${name}`);
  }
});

it('exposes corral/client by package name', async () => {
  const client = await import(`${pkg.name}/client`);
  for (const name of ['createClient', 'CorralError', 'TemplateError', 'FarmErrorCode', 'JOB_STATES']) {
    assert.ok(name in client, `corral/client exports ${name}`);
  }
});

it('keeps internal modules private', async () => {
  await assert.rejects(import(`${pkg.name}/dist/model/decode.js`), { code: 'ERR_PACKAGE_PATH_NOT_EXPORTED' });
  await assert.rejects(import(`${pkg.name}/model/schema/core`), { code: 'ERR_PACKAGE_PATH_NOT_EXPORTED' });
  await assert.rejects(import(`${pkg.name}/dist/farm/server/index.js`), { code: 'ERR_PACKAGE_PATH_NOT_EXPORTED' });
});
