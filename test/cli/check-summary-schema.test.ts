import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020.js';
import jsyaml from 'js-yaml';
import { conformanceDir, repoRoot, runCorral } from '../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'corral-cli-'));
function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

const good = file(
  'good.yaml',
  `specificationVersion: jobtemplate-2023-09
name: "Shot {{Param.Shot}}"
parameterDefinitions:
- {name: Shot, type: STRING, default: sh010}
- {name: Frames, type: STRING, default: "1-20"}
- {name: Out, type: PATH, default: out}
jobEnvironments: [{name: Setup, variables: {OUT: "{{Param.Out}}"}}]
steps:
- name: Render
  parameterSpace:
    taskParameterDefinitions:
    - {name: Frame, type: INT, range: "{{Param.Frames}}"}
    - {name: Eye, type: STRING, range: [l, r]}
  script: {actions: {onRun: {command: echo, args: ["{{Task.Param.Frame}}"]}}}
- name: Encode
  dependencies: [{dependsOn: Render}]
  stepEnvironments: [{name: Ffmpeg, variables: {A: b}}]
  script: {actions: {onRun: {command: echo}}}
`,
);
const bad = file(
  'bad.yaml',
  `specificationVersion: jobtemplate-2023-09
name: X
steps:
- name: S
  script:
    actions:
      onRun: {command: echo, args: ["{{Param.Nope}}"]}
`,
);

describe('corral check', () => {
  it('accepts a valid template with the reference CLI message', async () => {
    const result = await runCorral(['check', good]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, `Template at '${good}' passes validation checks.\n`);
  });

  it('rejects an invalid one with located errors on stderr and exit 1', async () => {
    const result = await runCorral(['check', bad]);
    assert.equal(result.code, 1);
    assert.equal(
      result.stderr,
      `ERROR: '${bad}' is not a valid OpenJD template.\n  7:37 steps[0].script.actions.onRun.args[0]: '{{Param.Nope}}' is not defined: no job parameter named 'Nope' in this step\n`,
    );
  });

  it('prints machine-readable results with --output json and yaml', async () => {
    const ok = JSON.parse((await runCorral(['check', good, '--output', 'json'])).stdout);
    assert.deepEqual(ok, {
      status: 'success',
      message: `Template at '${good}' passes validation checks.`,
      kind: 'job',
    });
    const failed = await runCorral(['check', bad, '--output', 'yaml']);
    const parsed = jsyaml.load(failed.stdout) as {
      status: string;
      code: string;
      issues: { line: number; column: number }[];
    };
    assert.equal(failed.code, 1);
    assert.equal(parsed.status, 'error');
    assert.equal(parsed.code, 'CORRAL_E_TEMPLATE_INVALID');
    assert.deepEqual([parsed.issues[0]!.line, parsed.issues[0]!.column], [7, 37]);
  });

  it('honours --extensions', async () => {
    const chunked = file(
      'chunked.yaml',
      `specificationVersion: jobtemplate-2023-09
extensions: [TASK_CHUNKING]
name: X
steps:
- name: S
  parameterSpace:
    taskParameterDefinitions:
    - {name: F, type: "CHUNK[INT]", range: "1-10", chunks: {defaultTaskCount: 2, rangeConstraint: CONTIGUOUS}}
  script: {actions: {onRun: {command: echo}}}
`,
    );
    assert.equal((await runCorral(['check', chunked, '--extensions', 'TASK_CHUNKING,FEATURE_BUNDLE_1'])).code, 0);
    const refused = await runCorral(['check', chunked, '--extensions', 'FEATURE_BUNDLE_1']);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /TASK_CHUNKING extension is not enabled here/);
    const unknown = await runCorral(['check', chunked, '--extensions', 'NOPE']);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /Unsupported extension 'NOPE'/);
  });

  it('explains a missing file and bad usage', async () => {
    const missing = await runCorral(['check', join(dir, 'nope.yaml')]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /Cannot read the template '.*nope.yaml': no such file/);
    const usage = await runCorral(['check', good, '--output', 'xml']);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /Allowed choices are human-readable, json, yaml/);
    assert.equal((await runCorral(['frobnicate'])).code, 2);
  });

  it('prints its version fast', async () => {
    const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8'));
    assert.equal((await runCorral(['--version'])).stdout, `${pkg.version}\n`);
  });
});

describe('corral summary', () => {
  it('shows parameters, steps, task counts and environments', async () => {
    const result = await runCorral(['summary', good, '-p', 'Shot=sh020', '--job-param', '{"Frames": "1-5"}'], {
      cwd: dir,
    });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(
      result.stdout,
      `--- Summary for 'Shot sh020' ---

Parameters:
  - Shot (STRING): sh020
  - Frames (STRING): 1-5
  - Out (PATH): ${join(dir, 'out')}

Total steps: 2
Total tasks: 11
Total environments: 2

--- Steps in 'Shot sh020' ---

1. 'Render'
    2 task parameters (Frame, Eye)
    10 tasks
    0 environments
    no dependencies
2. 'Encode'
    0 task parameters
    1 task
    1 environment
    depends on 'Render'

--- Environments in 'Shot sh020' ---

  - Setup (from 'root')
  - Ffmpeg (from 'Encode')
`,
    );
  });

  it('reads values from a file and reports bad ones like openjd summary', async () => {
    const values = file('values.yaml', 'Shot: sh030\nFrames: "1-3"\n');
    const json = JSON.parse((await runCorral(['summary', good, '-p', `file://${values}`, '--output', 'json'])).stdout);
    assert.equal(json.status, 'success');
    assert.equal(json.name, 'Shot sh030');
    assert.equal(json.total_tasks, 7);
    assert.deepEqual(json.steps[1].dependencies, [{ step_name: 'Render' }]);
    const wrong = await runCorral(['summary', good, '-p', 'Frames=1-3,2']);
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /range: resolves to "1-3,2": ranges '1-3' and '2' overlap/);
    const malformed = await runCorral(['summary', good, '-p', 'novalue']);
    assert.equal(malformed.code, 1);
    assert.match(malformed.stderr, /'novalue' is not NAME=VALUE, file:\/\/FILE or a JSON object/);
  });

  it('summarises one step with --step', async () => {
    const result = await runCorral(['summary', good, '--step', 'Render']);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /Total tasks: 40 tasks\n/);
    assert.match(result.stdout, /- Frame \(INT\): 1-20\n/);
    const missing = await runCorral(['summary', good, '--step', 'Nope']);
    assert.match(missing.stderr, /no step named 'Nope'; its steps are 'Render', 'Encode'/);
  });

  it('applies environment templates given with --env or --environment', async () => {
    const env = file(
      'env.yaml',
      `specificationVersion: environment-2023-09
parameterDefinitions: [{name: Shot, type: STRING, allowedValues: [sh010, sh020]}]
environment: {name: Conda, variables: {X: y}}
`,
    );
    const result = await runCorral(['summary', good, '--environment', env, '--output', 'json']);
    const json = JSON.parse(result.stdout);
    assert.equal(json.total_environments, 3);
    assert.equal(json.root_environments[0].name, 'Conda');
    const refused = await runCorral(['summary', good, '--env', env, '-p', 'Shot=sh099']);
    assert.match(refused.stderr, /"sh099" is not one of the allowedValues/);
  });
});

describe('corral schema', () => {
  const schemaOf = async (version: string) => {
    const ajv = new Ajv2020({ strict: true, allErrors: true, allowUnionTypes: true });
    const result = await runCorral(['schema', '--version', version]);
    assert.equal(result.code, 0, result.stderr);
    return ajv.compile(JSON.parse(result.stdout));
  };

  it('publishes schemas that accept every valid conformance template', async () => {
    const validators = {
      job_templates: await schemaOf('jobtemplate-2023-09'),
      env_templates: await schemaOf('environment-2023-09'),
    };
    let checked = 0;
    for (const component of ['base', 'FEATURE_BUNDLE_1', 'TASK_CHUNKING']) {
      for (const kind of ['job_templates', 'env_templates'] as const) {
        let files: string[] = [];
        try {
          files = readdirSync(join(conformanceDir, component, kind));
        } catch {}
        for (const name of files.filter((f) => !f.includes('.invalid.'))) {
          const text = readFileSync(join(conformanceDir, component, kind, name), 'utf8');
          const value = name.endsWith('.json') ? JSON.parse(text) : jsyaml.load(text, { schema: jsyaml.CORE_SCHEMA });
          const validate = validators[kind];
          assert.ok(validate(value), `${component}/${kind}/${name}: ${JSON.stringify(validate.errors)}`);
          checked++;
        }
      }
    }
    assert.ok(checked > 50);
  });

  it('rejects what editors should flag: unknown fields, wrong types', async () => {
    const validate = await schemaOf('jobtemplate-2023-09');
    assert.equal(validate({ specificationVersion: 'jobtemplate-2023-09', name: 'X', steps: [], extra: 1 }), false);
    assert.equal(validate({ specificationVersion: 'jobtemplate-2023-09', name: 5, steps: [{ name: 'S' }] }), false);
  });
});
