/**
 * @module Micro-benchmark of process start-up and output throughput through the launchers.
 *
 * Usage: node --import tsx bench/spawn.ts [--count 1000] [--rounds 5] [--lines 1000000]
 *
 * Figures, per started process, each measured `rounds` times interleaved (the median is reported, the best in
 * brackets: other work on the machine only ever adds time):
 *   (a) fork-exec floor: a shell loop running /bin/true `count` times, timed as a whole;
 *   (b) a bare Node loop spawning /bin/true sequentially with piped output;
 *   (c) the native launcher launching /bin/true sequentially (await exit each time) with an output callback;
 *   (d) the Node fallback launcher, the same way;
 *   (e) one process printing `lines` lines (`seq`) through the native launcher (and, for comparison, the fallback):
 *       lines/s counted from the newlines in the delivered chunks, and MB/s.
 */

import { spawn, spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { createLauncher, type Launcher } from '../src/session/launcher/index.js';

const { values } = parseArgs({
  options: {
    count: { type: 'string', default: '1000' },
    rounds: { type: 'string', default: '5' },
    lines: { type: 'string', default: '1000000' },
  },
});
const COUNT = Number(values.count);
const ROUNDS = Number(values.rounds);
const LINES = Number(values.lines);
const ENV = { PATH: '/usr/bin:/bin' };

function ms(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e6;
}

/** (a) The shell loop, timed as a whole, per process. */
function floor(): number {
  const start = process.hrtime.bigint();
  const result = spawnSync('/bin/sh', ['-c', `i=0; while [ $i -lt ${COUNT} ]; do /bin/true; i=$((i+1)); done`]);
  if (result.status !== 0) throw new Error('shell loop failed');
  return ms(start) / COUNT;
}

/** (b) Node's own spawn, sequentially, stdout and stderr piped. */
async function bareNode(): Promise<number> {
  const once = () =>
    new Promise<void>((resolve, reject) => {
      const child = spawn('/bin/true', [], { stdio: ['ignore', 'pipe', 'pipe'] });
      child.stdout.on('data', () => {});
      child.stderr.on('data', () => {});
      child.on('error', reject);
      child.on('close', () => resolve());
    });
  const start = process.hrtime.bigint();
  for (let i = 0; i < COUNT; i++) await once();
  return ms(start) / COUNT;
}

/** (c)/(d) A launcher, sequentially, awaiting each exit. */
async function viaLauncher(launcher: Launcher): Promise<number> {
  let chunks = 0;
  const onOutput = () => {
    chunks++;
  };
  const start = process.hrtime.bigint();
  for (let i = 0; i < COUNT; i++) {
    const launched = await launcher.launch({ command: '/bin/true', args: [], cwd: '/', env: ENV }, { onOutput });
    const exit = await launched.exit;
    if (exit.exitCode !== 0) throw new Error(`/bin/true exited with ${JSON.stringify(exit)}`);
  }
  if (chunks !== 0) throw new Error('/bin/true printed something');
  return ms(start) / COUNT;
}

/** (e) `seq LINES` through a launcher: lines/s and MB/s from launch to exit. */
async function throughput(launcher: Launcher): Promise<{ linesPerSecond: number; mbPerSecond: number }> {
  let lines = 0;
  let bytes = 0;
  const onOutput = (chunk: Buffer) => {
    bytes += chunk.length;
    let at = chunk.indexOf(10);
    while (at !== -1) {
      lines++;
      at = chunk.indexOf(10, at + 1);
    }
  };
  const start = process.hrtime.bigint();
  const launched = await launcher.launch({ command: 'seq', args: [String(LINES)], cwd: '/', env: ENV }, { onOutput });
  await launched.exit;
  const seconds = ms(start) / 1000;
  if (lines !== LINES) throw new Error(`expected ${LINES} lines, got ${lines}`);
  return { linesPerSecond: lines / seconds, mbPerSecond: bytes / 1e6 / seconds };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

async function main(): Promise<void> {
  const native = await createLauncher({ prefer: 'native' });
  const fallback = await createLauncher({ prefer: 'node' });
  // Warm up every path (page cache, JIT, the launcher's first allocations).
  for (let i = 0; i < 50; i++) {
    await (await native.launch({ command: '/bin/true', args: [], cwd: '/', env: ENV }, { onOutput() {} })).exit;
    await (await fallback.launch({ command: '/bin/true', args: [], cwd: '/', env: ENV }, { onOutput() {} })).exit;
  }
  const runs = { a: [] as number[], b: [] as number[], c: [] as number[], d: [] as number[] };
  const nativeRates: { linesPerSecond: number; mbPerSecond: number }[] = [];
  const nodeRates: { linesPerSecond: number; mbPerSecond: number }[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    runs.a.push(floor());
    runs.b.push(await bareNode());
    runs.c.push(await viaLauncher(native));
    runs.d.push(await viaLauncher(fallback));
    nativeRates.push(await throughput(native));
    nodeRates.push(await throughput(fallback));
  }
  await native.close();
  await fallback.close();

  const a = median(runs.a);
  const row = (label: string, xs: number[]) =>
    `${label.padEnd(44)} ${median(xs).toFixed(3).padStart(7)} ms  [best ${Math.min(...xs).toFixed(3)}]  ` +
    `${(median(xs) / a).toFixed(2)}x floor`;
  console.log(`spawn benchmark: ${COUNT} sequential processes, ${ROUNDS} rounds, median [best]`);
  console.log(row('(a) fork-exec floor (sh loop, /bin/true)', runs.a));
  console.log(row('(b) bare Node spawn, piped output', runs.b));
  console.log(row('(c) native launcher', runs.c));
  console.log(row('(d) node fallback launcher', runs.d));
  console.log(
    `ratios: native/floor ${(median(runs.c) / a).toFixed(2)}, native/bare-node ${(median(runs.c) / median(runs.b)).toFixed(2)}, ` +
      `fallback/bare-node ${(median(runs.d) / median(runs.b)).toFixed(2)}`,
  );
  const rate = (label: string, rs: { linesPerSecond: number; mbPerSecond: number }[]) =>
    `${label.padEnd(44)} ${(median(rs.map((r) => r.linesPerSecond)) / 1e6).toFixed(2)} M lines/s, ` +
    `${median(rs.map((r) => r.mbPerSecond)).toFixed(1)} MB/s`;
  console.log(rate(`(e) seq ${LINES} through the native launcher`, nativeRates));
  console.log(rate(`    seq ${LINES} through the node fallback`, nodeRates));
}

await main();
