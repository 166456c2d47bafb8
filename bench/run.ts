/**
 * What `corral run` costs per task, beside what starting a process costs at all, and how fast it moves output.
 *
 * In one run:
 *   (a) the fork-exec floor: a shell loop running /bin/true 1000 times;
 *   (b) a bare Node loop spawning /bin/true 1000 times with piped output (Node's own spawn);
 *   (c) `corral run` of a one-step job of 1000 tasks running `true`, with a job environment — whole process, and
 *       the marginal cost per task (1000 tasks minus 1 task, over 999);
 *   (d) one task printing 1,000,000 lines, `corral run` writing its log to a file: lines/s and peak RSS, beside
 *       the producer writing the same lines to a file by itself.
 *
 * Run: node --import tsx bench/run.ts [--rounds N]
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const rounds = Number(process.argv[process.argv.indexOf('--rounds') + 1]) || 5;
const corral = fileURLToPath(new URL('../bin/corral.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'corral-bench-run-'));
const N = 1000;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const seconds = (start: bigint) => Number(process.hrtime.bigint() - start) / 1e9;

function timeSync(command: string, args: string[], options: { stdout?: string } = {}): number {
  const start = process.hrtime.bigint();
  const result = spawnSync(command, args, { stdio: ['ignore', 'ignore', 'pipe'], ...(options.stdout ? {} : {}) });
  const elapsed = seconds(start);
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed: ${result.stderr}`);
  return elapsed;
}

async function nodeSpawnLoop(): Promise<number> {
  const start = process.hrtime.bigint();
  for (let i = 0; i < N; i++) {
    await new Promise<void>((resolve, reject) => {
      const child = spawn('/bin/true', [], { stdio: ['ignore', 'pipe', 'pipe'] });
      child.stdout.resume();
      child.stderr.resume();
      child.on('error', reject);
      child.on('close', () => resolve());
    });
  }
  return seconds(start);
}

/** Runs a command with stdout to a file; returns wall seconds and peak RSS in MB (from /usr/bin/time when present). */
function timeToFile(command: string, args: string[], outFile: string): { seconds: number; peakMb?: number } {
  const useTime = existsSync('/usr/bin/time');
  const script = `exec > ${JSON.stringify(outFile)}; ${useTime ? '/usr/bin/time -f "%M" -o ' + JSON.stringify(`${outFile}.rss`) + ' ' : ''}${[command, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ')}`;
  const start = process.hrtime.bigint();
  const result = spawnSync('/bin/sh', ['-c', script], { stdio: ['ignore', 'ignore', 'pipe'] });
  const elapsed = seconds(start);
  if (result.status !== 0) throw new Error(`${command} failed: ${result.stderr}`);
  const peakMb = useTime ? Number(readFileSync(`${outFile}.rss`, 'utf8').trim()) / 1024 : undefined;
  return peakMb === undefined ? { seconds: elapsed } : { seconds: elapsed, peakMb };
}

try {
  const tasksJob = join(dir, 'tasks.yaml');
  writeFileSync(
    tasksJob,
    `specificationVersion: jobtemplate-2023-09
name: Bench
jobEnvironments:
- name: Env
  variables: {BENCH: "1"}
  script: {actions: {onEnter: {command: "true"}, onExit: {command: "true"}}}
steps:
- name: Tasks
  parameterSpace:
    taskParameterDefinitions: [{name: I, type: INT, range: "1-${N}"}]
  script: {actions: {onRun: {command: "true"}}}
`,
  );
  const floor: number[] = [];
  const nodeLoop: number[] = [];
  const corralAll: number[] = [];
  const corralOne: number[] = [];
  for (let round = 0; round < rounds; round++) {
    floor.push(timeSync('/bin/sh', ['-c', `i=0; while [ $i -lt ${N} ]; do /bin/true; i=$((i+1)); done`]));
    nodeLoop.push(await nodeSpawnLoop());
    corralAll.push(timeSync(process.execPath, [corral, 'run', tasksJob]));
    corralOne.push(timeSync(process.execPath, [corral, 'run', tasksJob, '--maximum-tasks', '1']));
  }
  const perTask = (s: number) => (s / N) * 1000;
  const a = perTask(median(floor));
  const b = perTask(median(nodeLoop));
  const c = perTask(median(corralAll));
  const marginal = ((median(corralAll) - median(corralOne)) / (N - 1)) * 1000;
  console.log(`Per-task cost, ${N} processes, median of ${rounds} rounds\n`);
  console.log(`  (a) fork-exec floor (sh loop of /bin/true)      ${a.toFixed(3)} ms`);
  console.log(
    `  (b) bare Node spawn loop, piped output          ${b.toFixed(3)} ms   ${(b / a).toFixed(2)}x the floor`,
  );
  console.log(
    `  (c) corral run, ${N} tasks + job environment    ${c.toFixed(3)} ms   ${(c / a).toFixed(2)}x the floor, ${(c / b).toFixed(2)}x Node spawn (whole process, ${median(corralAll).toFixed(2)} s)`,
  );
  console.log(
    `      marginal per task (${N} tasks − 1 task)     ${marginal.toFixed(3)} ms   ${(marginal / a).toFixed(2)}x the floor, ${(marginal / b).toFixed(2)}x Node spawn`,
  );
  console.log(`      target: ≤ 1.5x the floor; at least faster than (b). Reference openjd CLI: 2.7–5.6 ms per task.\n`);

  const lines = 1_000_000;
  const floodJob = join(dir, 'flood.yaml');
  const producer = ['seq', '-f', 'render progress line %g of the frame, tile 12 of 64', '1', String(lines)];
  writeFileSync(
    floodJob,
    `specificationVersion: jobtemplate-2023-09
name: Flood
steps:
- name: Print
  script: {actions: {onRun: {command: ${producer[0]}, args: ${JSON.stringify(producer.slice(1))}}}}
`,
  );
  const alone: number[] = [];
  const through: { seconds: number; peakMb?: number }[] = [];
  for (let round = 0; round < rounds; round++) {
    alone.push(timeToFile(producer[0]!, producer.slice(1), join(dir, 'alone.log')).seconds);
    through.push(timeToFile(process.execPath, [corral, 'run', floodJob], join(dir, 'flood.log')));
  }
  const logged = readFileSync(join(dir, 'flood.log'), 'utf8')
    .split('\n')
    .filter((l) => l.includes('render progress line')).length;
  if (logged !== lines) throw new Error(`expected ${lines} lines in the log, found ${logged}`);
  const flood = median(through.map((t) => t.seconds));
  const peak = Math.max(...through.map((t) => t.peakMb ?? 0));
  console.log(
    `Output: one task printing ${lines.toLocaleString('en-US')} lines, log written to a file (${(statSync(join(dir, 'flood.log')).size / 1e6).toFixed(0)} MB)\n`,
  );
  console.log(
    `  producer alone to a file                        ${(lines / median(alone) / 1e6).toFixed(2)} M lines/s`,
  );
  console.log(
    `  corral run (whole process)                      ${(lines / flood / 1e6).toFixed(2)} M lines/s   ${flood.toFixed(2)} s`,
  );
  console.log(
    `  peak RSS of corral run                          ${peak ? `${peak.toFixed(0)} MB` : 'unknown (no /usr/bin/time)'}`,
  );
  console.log(`  target: ≥ 1 M lines/s and ≤ 120 MB. Reference openjd CLI: ~0.06 M lines/s, 267 MB.`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
