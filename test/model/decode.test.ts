import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeEnvironmentTemplate, decodeJobTemplate, decodeTemplate } from '../../src/model/decode.js';
import { FloatLiteral, MAX_DOCUMENT_NODES, parseDocument } from '../../src/model/document.js';
import { formatIssue, ModelErrorCode, TemplateError, type ValidationIssue } from '../../src/model/errors.js';

/** Decodes a job template expected to be invalid and returns its issues. */
function issuesOf(text: string, options: { format?: 'json' | 'yaml'; extensions?: string[] } = {}): ValidationIssue[] {
  try {
    decodeJobTemplate({ text, ...options });
  } catch (error) {
    assert.ok(error instanceof TemplateError, `expected a TemplateError, got ${error}`);
    return [...error.issues];
  }
  assert.fail('the template was accepted');
}

const STEP = `steps:
- name: S
  script:
    actions:
      onRun:
        command: echo
`;

describe('decodeJobTemplate', () => {
  it('decodes a valid template into the typed model', () => {
    const template = decodeJobTemplate({
      text: `specificationVersion: jobtemplate-2023-09
name: Render
parameterDefinitions:
- {name: Frames, type: STRING, default: "1-10"}
- {name: Big, type: INT, default: 9223372036854775807}
- {name: Scale, type: FLOAT, default: 1.0}
${STEP}`,
    });
    assert.equal(template.name, 'Render');
    assert.equal(template.steps[0]?.script?.actions.onRun.command, 'echo');
    const [, big, scale] = template.parameterDefinitions!;
    assert.equal(big?.type === 'INT' && big.default, '9223372036854775807', 'integers beyond 2^53 stay exact');
    assert.equal(scale?.type === 'FLOAT' && scale.default, '1.0', 'a whole-valued float keeps its fraction');
  });

  it('reports every problem at once with path and line:col', () => {
    const issues = issuesOf(`specificationVersion: jobtemplate-2023-09
name: ""
parameterDefinitions:
- name: 1bad
  type: STRING
- name: Frames
  type: INT
  default: 1.5
steps:
- name: S
  script:
    actions:
      onRun:
        command: echo
        args: ["{{Param.Nope}}"]
        timeut: 5
`);
    const shown = issues.map(formatIssue);
    assert.deepEqual(shown, [
      '2:7 name: must not be empty',
      '4:9 parameterDefinitions[0].name: must be an identifier: latin letters, digits and _, not starting with a digit',
      '8:12 parameterDefinitions[1].default: expected an integer, got the number 1.5',
      `15:16 steps[0].script.actions.onRun.args[0]: '{{Param.Nope}}' is not defined: no job parameter named 'Nope' in this step`,
      "16:9 steps[0].script.actions.onRun.timeut: unknown field 'timeut' (did you mean 'timeout'?)",
    ]);
  });

  it('points at the enclosing mapping for a missing field', () => {
    const [issue] = issuesOf(`specificationVersion: jobtemplate-2023-09
name: X
steps:
- name: S
  script:
    actions: {}
`);
    assert.equal(formatIssue(issue!), "6:14 steps[0].script.actions: missing required field 'onRun'");
  });

  it('locates issues in JSON too', () => {
    const issues = issuesOf('{\n  "specificationVersion": "jobtemplate-2023-09",\n  "name": 5,\n  "steps": []\n}', {
      format: 'json',
    });
    assert.deepEqual(issues.map(formatIssue), [
      '3:11 name: expected a string, got the number 5',
      '4:12 steps: must not be an empty list',
    ]);
  });

  it('reports YAML syntax errors with their position', () => {
    assert.throws(
      () => decodeJobTemplate({ text: 'name: [unclosed\nsteps: 1\n' }),
      (error: unknown) =>
        error instanceof TemplateError &&
        error.code === ModelErrorCode.TemplateSyntax &&
        error.issues[0]!.line !== undefined,
    );
  });

  it('refuses duplicate keys in YAML and JSON, naming where', () => {
    for (const [text, format] of [
      ['name: a\nname: b\n', 'yaml'],
      ['{"name": "a",\n "steps": [], "name": "b"}', 'json'],
    ] as const) {
      assert.throws(
        () => decodeJobTemplate({ text, format }),
        (error: unknown) =>
          error instanceof TemplateError &&
          error.code === ModelErrorCode.TemplateSyntax &&
          /dupl/.test(error.issues[0]!.message) &&
          error.issues[0]!.line === 2,
      );
    }
  });

  it('refuses an alias bomb without expanding it', () => {
    const levels = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]'];
    for (let i = 1; i < 9; i++) {
      const prev = String.fromCharCode(96 + i);
      const name = String.fromCharCode(97 + i);
      levels.push(`${name}: &${name} [${Array(10).fill(`*${prev}`).join(',')}]`);
    }
    const started = performance.now();
    assert.throws(
      () => parseDocument({ text: levels.join('\n') }),
      (error: unknown) =>
        error instanceof TemplateError && error.issues[0]!.message.includes(MAX_DOCUMENT_NODES.toLocaleString('en-US')),
    );
    assert.ok(performance.now() - started < 2000, 'answered quickly');
  });

  it('reads JSON integers beyond 2^53 and whole-valued floats exactly', () => {
    const doc = parseDocument({ text: '{"a": 9223372036854775807, "b": 1.0, "c": 2.5}', format: 'json' });
    const value = doc.value as Record<string, unknown>;
    assert.equal(value.a, 9223372036854775807n);
    assert.ok(value.b instanceof FloatLiteral);
    assert.equal(value.c, 2.5);
  });

  it('refuses an environment template where a job template is needed, and the reverse', () => {
    const env = 'specificationVersion: environment-2023-09\nenvironment: {name: E, variables: {A: b}}\n';
    assert.throws(() => decodeJobTemplate({ text: env }), /an environment template; a job template is needed/);
    assert.equal(decodeEnvironmentTemplate({ text: env }).environment.name, 'E');
    assert.equal(decodeTemplate({ text: env }).kind, 'environment');
  });

  it('explains unknown and unsupported specification versions and extensions', () => {
    assert.match(
      issuesOf('specificationVersion: jobtemplate-2024-01\n')[0]!.message,
      /unknown specificationVersion the string "jobtemplate-2024-01"; expected jobtemplate-2023-09/,
    );
    const messages = issuesOf(
      `specificationVersion: jobtemplate-2023-09\nextensions: [EXPR, TASK_CHUNKIN]\nname: X\n${STEP}`,
    ).map((i) => i.message);
    assert.match(messages[0]!, /Corral does not support the EXPR extension yet/);
    assert.match(messages[1]!, /unknown extension 'TASK_CHUNKIN' \(did you mean TASK_CHUNKING\?\)/);
    assert.match(
      issuesOf(`specificationVersion: jobtemplate-2023-09\nextensions: [TASK_CHUNKING]\nname: X\n${STEP}`, {
        extensions: ['FEATURE_BUNDLE_1'],
      })[0]!.message,
      /the TASK_CHUNKING extension is not enabled here \(enabled: FEATURE_BUNDLE_1\)/,
    );
  });

  it('names the extension a feature needs', () => {
    const messages = issuesOf(`specificationVersion: jobtemplate-2023-09
name: X
steps:
- name: S
  bash: {script: echo}
  parameterSpace:
    taskParameterDefinitions:
    - {name: F, type: "CHUNK[INT]", range: "1-3", chunks: {defaultTaskCount: 1, rangeConstraint: CONTIGUOUS}}
`).map((i) => i.message);
    assert.deepEqual(messages, [
      "'bash' requires the FEATURE_BUNDLE_1 extension, which the template does not declare",
      'CHUNK[INT] requires the TASK_CHUNKING extension, which the template does not declare',
    ]);
  });

  it('checks step dependencies: unknown, self, repeated and cycles', () => {
    const step = (name: string, deps: string[]) =>
      `- name: ${name}\n${deps.length ? `  dependencies: [${deps.map((d) => `{dependsOn: ${d}}`).join(', ')}]\n` : ''}  script: {actions: {onRun: {command: x}}}\n`;
    const text = `specificationVersion: jobtemplate-2023-09\nname: X\nsteps:\n${step('A', ['C'])}${step('B', ['A', 'A'])}${step('C', ['B'])}${step('D', ['D', 'Nope'])}`;
    const messages = issuesOf(text).map((i) => i.message);
    assert.ok(messages.includes("'A' is listed twice"), messages.join('\n'));
    assert.ok(messages.includes("step 'D' cannot depend on itself"));
    assert.ok(messages.includes("no step named 'Nope'"));
    assert.ok(
      messages.some((m) => /cycle: 'A' -> 'C' -> 'B' -> 'A'/.test(m)),
      messages.join('\n'),
    );
  });

  it('checks the scope of every format string', () => {
    const messages = issuesOf(`specificationVersion: jobtemplate-2023-09
name: "{{Param.Dir}} {{Task.Param.F}}"
parameterDefinitions: [{name: Dir, type: PATH}]
jobEnvironments:
- name: E
  variables: {A: "{{Env.File.f}} {{Task.File.x}}"}
  script:
    actions: {onEnter: {command: "{{Env.File.f}}"}}
    embeddedFiles: [{name: f, type: TEXT, data: "{{Session.WorkingDirectory}}"}]
steps:
- name: S
  parameterSpace:
    taskParameterDefinitions: [{name: F, type: INT, range: "{{Session.WorkingDirectory}}"}]
  script:
    actions: {onRun: {command: "{{Param.Dir}}", args: ["{{Task.File.g}}", "{{Env.File.f}}"]}}
`).map((i) => i.message);
    assert.deepEqual(messages, [
      "'{{Param.Dir}}' is a PATH parameter, whose path-mapped value exists only on the worker; use '{{RawParam.Dir}}' where the value is resolved when the job is created",
      "'{{Task.Param.F}}' is not available where the value is resolved when the job is created",
      "'{{Task.File.x}}' is not available in this environment",
      "'{{Session.WorkingDirectory}}' is not available where the value is resolved when the job is created",
      "'{{Task.File.g}}' is not defined: no embedded file named 'g' in this step",
      "'{{Env.File.f}}' is not available in this step",
    ]);
  });

  it('applies the base limits, raised by FEATURE_BUNDLE_1', () => {
    const longName = 'S'.repeat(65);
    const text = (ext: string) =>
      `specificationVersion: jobtemplate-2023-09\n${ext}name: X\nsteps:\n- name: ${longName}\n  script: {actions: {onRun: {command: x}}}\n`;
    assert.match(issuesOf(text(''))[0]!.message, /must be at most 64 characters, is 65/);
    assert.equal(decodeJobTemplate({ text: text('extensions: [FEATURE_BUNDLE_1]\n') }).steps[0]!.name, longName);
  });

  it('counts lengths in code points, not UTF-16 units', () => {
    const name = '🎬'.repeat(64);
    const text = `specificationVersion: jobtemplate-2023-09\nname: X\nsteps:\n- name: ${name}\n  script: {actions: {onRun: {command: x}}}\n`;
    assert.equal(decodeJobTemplate({ text }).steps[0]!.name, name);
  });

  it('accepts an already-parsed value', () => {
    const template = decodeJobTemplate({
      value: {
        specificationVersion: 'jobtemplate-2023-09',
        name: 'X',
        steps: [{ name: 'S', script: { actions: { onRun: { command: 'x' } } } }],
      },
    });
    assert.equal(template.steps.length, 1);
  });
});
