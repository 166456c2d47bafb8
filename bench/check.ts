/**
 * Times whole-process `corral check` on a large generated template, as YAML and as JSON, and `corral --version`.
 *
 * The template has 500 steps; each has a 100×3 parameter space, a step environment with variables, an embedded file
 * and format strings. A second variant chains every step to the previous one. The figures are printed beside the
 * floor of starting Node at all (`node -e 0`, measured in the same run) and the reference Python CLI's times
 * measured on this kind of machine (openjd 0.7.x: 0.69 s JSON, 1.61 s YAML, 0.21 s --version). Processes are started
 * without NODE_EXTRA_CA_CERTS; when the environment sets it, a second table shows its cost.
 *
 * Run: node --import tsx bench/check.ts [--runs N]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import jsyaml from 'js-yaml';

const runs = Number(process.argv[process.argv.indexOf('--runs') + 1]) || 15;
const corral = fileURLToPath(new URL('../bin/corral.js', import.meta.url));

/** The benchmark template: `steps` steps, optionally each depending on the previous one. */
export function bigTemplate(steps: number, chained: boolean): Record<string, unknown> {
  return {
    specificationVersion: 'jobtemplate-2023-09',
    name: 'Render {{Param.Shot}}',
    parameterDefinitions: [
      { name: 'Shot', type: 'STRING', default: 'sh010' },
      { name: 'OutDir', type: 'PATH', default: 'renders' },
      { name: 'Quality', type: 'INT', default: 3, minValue: 1, maxValue: 5 },
    ],
    steps: Array.from({ length: steps }, (_, i) => ({
      name: `Layer${i}`,
      ...(chained && i > 0 ? { dependencies: [{ dependsOn: `Layer${i - 1}` }] } : {}),
      stepEnvironments: [
        {
          name: `Layer${i}Env`,
          variables: {
            SHOT: '{{Param.Shot}}',
            LAYER: `layer${i}`,
            OUT: '{{Param.OutDir}}',
            QUALITY: '{{Param.Quality}}',
          },
        },
      ],
      parameterSpace: {
        taskParameterDefinitions: [
          { name: 'Frame', type: 'INT', range: '1-100' },
          { name: 'Eye', type: 'STRING', range: ['left', 'right', 'mono'] },
        ],
        combination: 'Frame * Eye',
      },
      script: {
        actions: {
          onRun: {
            command: 'bash',
            args: ['{{Task.File.render}}', '{{Task.Param.Frame}}', '{{Task.Param.Eye}}'],
            timeout: 3600,
            cancelation: { mode: 'NOTIFY_THEN_TERMINATE', notifyPeriodInSeconds: 60 },
          },
        },
        embeddedFiles: [
          {
            name: 'render',
            type: 'TEXT',
            runnable: true,
            data: `#!/usr/bin/env bash\nset -euo pipefail\necho "shot {{Param.Shot}} layer ${i} frame $1 eye $2"\nrender --quality {{Param.Quality}} --out "{{Param.OutDir}}/{{Task.Param.Eye}}" --frame {{Task.Param.Frame}}\n`,
          },
        ],
      },
    })),
  };
}

// This machine's environment sets NODE_EXTRA_CA_CERTS, which makes every Node process read and parse a CA bundle
// at start-up (~60 ms here) before any of Corral's code runs; figures are shown with and without it.
const cleanEnv = { ...process.env };
delete cleanEnv.NODE_EXTRA_CA_CERTS;
const extraCaCerts = process.env.NODE_EXTRA_CA_CERTS !== undefined;

function time(args: string[], env: NodeJS.ProcessEnv = cleanEnv): number[] {
  const samples: number[] = [];
  for (let i = 0; i < runs + 1; i++) {
    const start = process.hrtime.bigint();
    const result = spawnSync(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
    const elapsed = Number(process.hrtime.bigint() - start) / 1e9;
    if (result.status !== 0) throw new Error(`${args.join(' ')} failed:\n${result.stdout}${result.stderr}`);
    if (i > 0) samples.push(elapsed); // the first run warms the file cache
  }
  return samples.sort((a, b) => a - b);
}

const median = (xs: number[]) => xs[Math.floor(xs.length / 2)]!;
const fmt = (s: number) => `${s.toFixed(3)} s`;

const dir = mkdtempSync(join(tmpdir(), 'corral-bench-check-'));
try {
  const files: { label: string; path: string; target: number; reference: number }[] = [];
  for (const chained of [false, true]) {
    const template = bigTemplate(500, chained);
    const suffix = chained ? '-chained' : '';
    const yamlPath = join(dir, `big${suffix}.yaml`);
    const jsonPath = join(dir, `big${suffix}.json`);
    writeFileSync(yamlPath, jsyaml.dump(template, { lineWidth: -1 }));
    writeFileSync(jsonPath, JSON.stringify(template, null, 2));
    files.push({ label: `JSON${chained ? ', chained' : ''}`, path: jsonPath, target: 0.15, reference: 0.69 });
    files.push({ label: `YAML${chained ? ', chained' : ''}`, path: yamlPath, target: 0.3, reference: 1.61 });
  }

  const floor = time(['-e', '0']);
  console.log(`corral check, whole process, median of ${runs} runs (min in brackets)\n`);
  console.log(`  node -e 0 (start-up floor)        ${fmt(median(floor))}  [${fmt(floor[0]!)}]`);
  const version = time([corral, '--version']);
  console.log(
    `  corral --version                  ${fmt(median(version))}  [${fmt(version[0]!)}]  target ≤ 0.120 s, reference openjd 0.21 s`,
  );
  for (const file of files) {
    const samples = time([corral, 'check', file.path]);
    const size = (statSync(file.path).size / 1024).toFixed(0);
    console.log(
      `  check ${`${file.label} (${size} KB)`.padEnd(28)}${fmt(median(samples))}  [${fmt(samples[0]!)}]  target ≤ ${file.target.toFixed(3)} s, reference openjd ${file.reference} s (${(file.reference / median(samples)).toFixed(1)}x)`,
    );
  }
  if (extraCaCerts) {
    console.log(
      "\nThe same with this machine's NODE_EXTRA_CA_CERTS set (it costs every Node process its CA bundle parse):\n",
    );
    const withCa = (args: string[]) => median(time(args, process.env));
    console.log(`  node -e 0                         ${fmt(withCa(['-e', '0']))}`);
    console.log(`  corral --version                  ${fmt(withCa([corral, '--version']))}`);
    for (const file of files)
      console.log(`  check ${file.label.padEnd(28)}${fmt(withCa([corral, 'check', file.path]))}`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
