import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createJob, SIMPLE_ACTION_FILE } from '../../src/model/create-job.js';
import { decodeEnvironmentTemplate, decodeJobTemplate } from '../../src/model/decode.js';
import { JobCreationError, ModelErrorCode } from '../../src/model/errors.js';
import { IntRangeExpr } from '../../src/model/range-expr.js';

const decode = (text: string) => decodeJobTemplate({ text });

function creationIssues(text: string, values: Record<string, unknown> = {}): string[] {
  try {
    createJob({
      template: decode(text),
      parameterValues: values,
      templateDirectory: '/t',
      currentWorkingDirectory: '/w',
    });
  } catch (error) {
    assert.ok(error instanceof JobCreationError, String(error));
    assert.equal(error.code, ModelErrorCode.JobInvalid);
    return error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  }
  assert.fail('created');
}

describe('createJob', () => {
  it('resolves template-scope format strings and leaves host-scope ones', () => {
    const job = createJob({
      template: decode(`specificationVersion: jobtemplate-2023-09
extensions: [TASK_CHUNKING, FEATURE_BUNDLE_1]
name: "Render {{Param.Shot}} ({{RawParam.Scene}})"
parameterDefinitions:
- {name: Shot, type: STRING}
- {name: Scene, type: PATH}
- {name: Frames, type: STRING, default: "1-10"}
- {name: Chunk, type: INT, default: 4}
- {name: Cpus, type: INT, default: 8}
- {name: Os, type: STRING, default: linux}
- {name: Limit, type: INT, default: 60}
steps:
- name: Render
  hostRequirements:
    amounts: [{name: amount.worker.vcpu, min: "{{Param.Cpus}}", max: 64}]
    attributes: [{name: attr.worker.os.family, anyOf: ["{{Param.Os}}"]}]
  parameterSpace:
    taskParameterDefinitions:
    - name: Frame
      type: CHUNK[INT]
      range: "{{Param.Frames}}"
      chunks: {defaultTaskCount: "{{Param.Chunk}}", targetRuntimeSeconds: 0, rangeConstraint: CONTIGUOUS}
    - {name: Eye, type: STRING, range: ["{{Param.Shot}}-l", r]}
  script:
    actions:
      onRun:
        command: render
        args: ["{{Param.Scene}}", "{{Task.Param.Frame}}"]
        timeout: "{{Param.Limit}}"
`),
      parameterValues: { Shot: 'sh010', Scene: '/proj/a.blend' },
    });
    assert.equal(job.name, 'Render sh010 (/proj/a.blend)');
    const step = job.steps[0]!;
    assert.deepEqual(step.hostRequirements, {
      amounts: [{ name: 'amount.worker.vcpu', min: 8, max: 64 }],
      attributes: [{ name: 'attr.worker.os.family', anyOf: ['linux'] }],
    });
    assert.equal(step.script.actions.onRun.timeout, 60);
    assert.deepEqual(step.script.actions.onRun.args, ['{{Param.Scene}}', '{{Task.Param.Frame}}']);
    const [frame, eye] = step.parameterSpace.parameters;
    assert.ok(frame?.values instanceof IntRangeExpr && frame.values.toString() === '1-10');
    assert.deepEqual(frame.chunks, { defaultTaskCount: 4, targetRuntimeSeconds: 0, rangeConstraint: 'CONTIGUOUS' });
    assert.deepEqual(eye?.values, ['sh010-l', 'r']);
    assert.equal(step.parameterSpace.taskCount, 20);
    assert.equal(step.parameterSpace.chunkCount(), 6);
  });

  it('checks what only resolution reveals, reporting every problem', () => {
    const issues = creationIssues(
      `specificationVersion: jobtemplate-2023-09
name: "{{Param.Name}}"
parameterDefinitions:
- {name: Name, type: STRING}
- {name: Cap, type: STRING, default: "amount.worker.thing"}
- {name: Attr, type: STRING, default: "attr.custom"}
- {name: Bad, type: STRING, default: "9lives"}
- {name: Range, type: STRING, default: "1-10:4,10-15"}
steps:
- name: S
  hostRequirements:
    amounts: [{name: "{{Param.Cap}}", min: 1}]
    attributes:
    - {name: "{{Param.Attr}}", anyOf: ["{{Param.Bad}}"]}
    - {name: "attr.CUSTOM", anyOf: [x]}
  parameterSpace:
    taskParameterDefinitions: [{name: F, type: INT, range: "{{Param.Range}}"}]
  script: {actions: {onRun: {command: x}}}
`,
      { Name: 'x'.repeat(129) },
    );
    assert.deepEqual(issues, [
      'name: the job name resolves to 129 characters; the limit is 128',
      `steps.0.hostRequirements.amounts.0.name: resolves to "amount.worker.thing": "amount.worker.thing" uses the reserved scope 'worker'; custom capabilities may not start with worker, job, step or task (standard ones are amount.worker.vcpu, amount.worker.memory, amount.worker.gpu, amount.worker.gpu.memory, amount.worker.disk.scratch)`,
      'steps.0.hostRequirements.attributes.0.anyOf.0: resolves to "9lives": "9lives" is not an attribute value: latin letters, digits, _ and -, starting with a letter or _',
      "steps.0.hostRequirements.attributes.1.name: 'attr.CUSTOM' is required twice (also item 0)",
      `steps.0.parameterSpace.taskParameterDefinitions.0.range: resolves to "1-10:4,10-15": ranges '1-10:4' and '10-15' overlap at column 8 of '1-10:4,10-15'`,
    ]);
  });

  it('checks combination lengths once ranges are known', () => {
    const issues = creationIssues(`specificationVersion: jobtemplate-2023-09
name: X
parameterDefinitions: [{name: R, type: STRING, default: "1-3"}]
steps:
- name: S
  parameterSpace:
    taskParameterDefinitions:
    - {name: A, type: INT, range: "{{Param.R}}"}
    - {name: B, type: INT, range: [1, 2]}
    combination: "(A, B)"
  script: {actions: {onRun: {command: x}}}
`);
    assert.equal(issues.length, 1);
    assert.match(issues[0]!, /combination: .*A has 3, B has 2/);
  });

  it('expands a simple action into a script with a runnable embedded file', () => {
    const job = createJob({
      template: decode(`specificationVersion: jobtemplate-2023-09
extensions: [FEATURE_BUNDLE_1]
name: X
steps:
- name: "Make Previews!"
  python:
    script: print('hi')
    args: ["--fast"]
    timeout: 30
`),
    });
    const script = job.steps[0]!.script;
    assert.deepEqual(script.actions.onRun, {
      command: 'python',
      args: [`{{Task.File.${SIMPLE_ACTION_FILE}}}`, '--fast'],
      timeout: 30,
    });
    assert.deepEqual(script.embeddedFiles, [
      { name: SIMPLE_ACTION_FILE, type: 'TEXT', filename: 'Make_Previews.py', runnable: true, data: "print('hi')" },
    ]);
  });

  it('merges environment templates and puts their environments first', () => {
    const env = decodeEnvironmentTemplate({
      text: `specificationVersion: environment-2023-09
parameterDefinitions: [{name: Pkg, type: STRING, default: blender}]
environment: {name: Conda, script: {actions: {onEnter: {command: conda, args: ["{{Param.Pkg}}"]}}}}
`,
    });
    const job = createJob({
      template: decode(`specificationVersion: jobtemplate-2023-09
name: X
jobEnvironments: [{name: Setup, variables: {A: b}}]
steps: [{name: S, script: {actions: {onRun: {command: x}}}}]
`),
      environmentTemplates: [env],
    });
    assert.deepEqual(
      job.externalEnvironments.map((e) => e.name),
      ['Conda'],
    );
    assert.deepEqual(job.parameters, { Pkg: { type: 'STRING', value: 'blender' } });
  });

  it('counts a billion tasks without materialising them', () => {
    const started = performance.now();
    const job = createJob({
      template: decode(`specificationVersion: jobtemplate-2023-09
name: X
steps:
- name: S
  parameterSpace:
    taskParameterDefinitions:
    - {name: F, type: INT, range: "1-1000000000"}
    - {name: C, type: STRING, range: [a]}
  script: {actions: {onRun: {command: x}}}
`),
    });
    const space = job.steps[0]!.parameterSpace;
    assert.equal(space.taskCount, 1_000_000_000);
    assert.deepEqual(space.taskAt(999_999_999), {
      F: { type: 'INT', value: '1000000000' },
      C: { type: 'STRING', value: 'a' },
    });
    assert.ok(performance.now() - started < 500);
  });
});
