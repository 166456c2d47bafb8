import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { findWebRoot } from '../../../src/farm/server/static.js';
import { repoRoot } from '../../helpers/cli.js';
import { startFarm, type TestFarm } from './helpers.js';

const INDEX = '<!doctype html><title>Corral</title><script type="module" src="/assets/main-ABC123.js"></script>';

describe('the dashboard files', () => {
  let test: TestFarm;
  let root: string;
  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'corral-web-'));
    mkdirSync(join(root, 'assets'));
    writeFileSync(join(root, 'index.html'), INDEX);
    writeFileSync(join(root, 'assets', 'main-ABC123.js'), 'console.log(1)');
    writeFileSync(join(root, 'favicon.svg'), '<svg/>');
    test = await startFarm({ webRoot: root });
  });
  after(async () => {
    await test.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('should serve the app at / and at its own paths, without a token, with a strict CSP', async () => {
    for (const path of ['/', '/jobs', '/jobs/12/tasks/3', '/workers?x=1']) {
      const response = await fetch(`${test.url}${path}`);
      assert.equal(response.status, 200, path);
      assert.equal(await response.text(), INDEX, path);
      assert.match(response.headers.get('content-type') ?? '', /^text\/html/);
      assert.equal(response.headers.get('cache-control'), 'no-cache');
      assert.match(
        response.headers.get('content-security-policy') ?? '',
        /script-src 'self'; .*frame-ancestors 'none'/,
      );
      assert.equal(response.headers.get('x-content-type-options'), 'nosniff');
    }
  });

  it('should let browsers keep hashed assets and revalidate with an etag', async () => {
    const response = await fetch(`${test.url}/assets/main-ABC123.js`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^text\/javascript/);
    assert.match(response.headers.get('cache-control') ?? '', /immutable/);
    const etag = response.headers.get('etag')!;
    const again = await fetch(`${test.url}/assets/main-ABC123.js`, { headers: { 'if-none-match': etag } });
    assert.equal(again.status, 304);
    assert.equal((await fetch(`${test.url}/favicon.svg`)).headers.get('content-type'), 'image/svg+xml');
  });

  it('should answer 404 for missing files, API paths and anything outside the build', async () => {
    for (const path of [
      '/assets/main-OLD.js',
      '/api/v1/nothing',
      '/missing.png',
      '/..%2fpackage.json',
      '/%2e%2e/x.js',
    ]) {
      const response = await fetch(`${test.url}${path}`);
      assert.equal(response.status, 404, path);
      const body = (await response.json()) as { error: { code: string } };
      assert.equal(body.error.code, 'CORRAL_E_NOT_FOUND', path);
    }
    // The app is for reading; other methods on its paths are not routes.
    assert.equal((await fetch(`${test.url}/jobs`, { method: 'POST' })).status, 404);
  });

  it('should leave the API as it was: tokens required, bad ids refused', async () => {
    assert.equal((await fetch(`${test.url}/api/v1/jobs`)).status, 401);
    const long = await fetch(`${test.url}/api/v1/jobs/${'9'.repeat(600)}`, {
      headers: { authorization: `Bearer ${test.tokens.user}` },
    });
    assert.equal(long.status, 400);
  });

  it('should say how to build the dashboard when it is not built', async () => {
    const bare = await startFarm({ webRoot: join(root, 'nowhere') });
    try {
      const response = await fetch(`${bare.url}/jobs`);
      assert.equal(response.status, 503);
      assert.match(await response.text(), /npm run build/);
    } finally {
      await bare.close();
    }
  });

  it("should find the build in the package's dist/web", () => {
    const found = findWebRoot(join(repoRoot, 'src', 'farm', 'server', 'static.ts'));
    if (existsSync(join(repoRoot, 'dist', 'web', 'index.html'))) assert.equal(found, join(repoRoot, 'dist', 'web'));
    else assert.equal(found, undefined);
    assert.equal(findWebRoot('/'), undefined);
  });
});
