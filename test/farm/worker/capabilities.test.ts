import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cpuArch, detectCapabilities, osFamily, sameCapabilities } from '../../../src/farm/worker/capabilities.js';
import { CorralError } from '../../../src/model/errors.js';

const host = { cpus: 8, memoryBytes: 16 * 1024 * 1024 * 1024 + 123, platform: 'linux' as const, arch: 'x64' };

describe('capabilities', () => {
  it('detects the standard ones', () => {
    assert.deepEqual(detectCapabilities({ host }), {
      amounts: { 'amount.worker.vcpu': 8, 'amount.worker.memory': 16_384 },
      attributes: { 'attr.worker.os.family': ['linux'], 'attr.worker.cpu.arch': ['x86_64'] },
    });
    assert.deepEqual(
      [osFamily('darwin'), osFamily('win32'), osFamily('linux'), cpuArch('arm64'), cpuArch('x64')],
      ['macos', 'windows', 'linux', 'arm64', 'x86_64'],
    );
    const here = detectCapabilities();
    assert.ok(here.amounts['amount.worker.vcpu']! >= 1);
    assert.ok(here.amounts['amount.worker.memory']! > 0);
  });

  it('adds custom amounts and attributes, and lets the configuration override detected ones', () => {
    const capabilities = detectCapabilities({
      host,
      amounts: ['amount.worker.vcpu=4', 'amount.license.nuke = 2', 'vendor:amount.gpu.slots=0.5'],
      attributes: ['attr.gpu=nvidia', 'attr.gpu=cuda12', 'attr.gpu=nvidia', 'attr.worker.os.family=linux'],
    });
    assert.equal(capabilities.amounts['amount.worker.vcpu'], 4);
    assert.equal(capabilities.amounts['amount.license.nuke'], 2);
    assert.equal(capabilities.amounts['vendor:amount.gpu.slots'], 0.5);
    assert.deepEqual(capabilities.attributes['attr.gpu'], ['nvidia', 'cuda12']);
    assert.deepEqual(capabilities.attributes['attr.worker.os.family'], ['linux']);
  });

  it('reports every malformed capability at once', () => {
    assert.throws(
      () =>
        detectCapabilities({
          host,
          amounts: ['amount.license', 'amount.x=-1', 'attr.y=2', 'amount.worker.bogus=1', 'amount.z=lots'],
          attributes: ['attr.gpu=', 'attr.os=mac os', 'attr.worker.os.family=beos', 'noequals'],
        }),
      (error: unknown) => {
        assert.ok(error instanceof CorralError);
        assert.equal(error.code, 'CORRAL_E_CAPABILITY_INVALID');
        assert.match(error.message, /9 problems/);
        assert.match(error.message, /'amount\.license' is not amount\.name=NUMBER/);
        assert.match(error.message, /reserved scope 'worker'/);
        assert.match(error.message, /beos/);
        return true;
      },
    );
  });

  it('compares capability sets regardless of order', () => {
    const a = { amounts: { x: 1, y: 2 }, attributes: { p: ['a', 'b'] } };
    const b = { amounts: { y: 2, x: 1 }, attributes: { p: ['b', 'a'] } };
    assert.ok(sameCapabilities(a, b));
    assert.ok(!sameCapabilities(a, { ...b, amounts: { x: 1, y: 3 } }));
  });
});
