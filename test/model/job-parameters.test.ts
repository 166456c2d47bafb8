import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { decodeEnvironmentTemplate, decodeJobTemplate } from '../../src/model/decode.js';
import { FloatLiteral } from '../../src/model/document.js';
import { ModelErrorCode, ParameterError } from '../../src/model/errors.js';
import { mergeJobParameterDefinitions, preprocessJobParameterValues } from '../../src/model/job-parameters.js';
import type { JobParameterDefinition } from '../../src/model/types.js';

function definitions(yaml: string): JobParameterDefinition[] {
  const template = decodeJobTemplate({
    text: `specificationVersion: jobtemplate-2023-09\nname: X\nparameterDefinitions:\n${yaml}\nsteps:\n- name: S\n  script: {actions: {onRun: {command: x}}}\n`,
  });
  return [...(template.parameterDefinitions ?? [])];
}

function preprocess(defs: JobParameterDefinition[], values: Record<string, unknown>, extra: object = {}) {
  return preprocessJobParameterValues({
    definitions: defs,
    values,
    templateDirectory: '/templates/job',
    currentWorkingDirectory: '/home/artist/shot',
    ...extra,
  });
}

function problems(fn: () => unknown): string[] {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof ParameterError, String(error));
    return error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  }
  assert.fail('accepted');
}

describe('preprocessJobParameterValues', () => {
  it('coerces strings and numbers to canonical text by type', () => {
    const defs = definitions(`- {name: I, type: INT}
- {name: F, type: FLOAT}
- {name: S, type: STRING}
- {name: Big, type: INT}`);
    const values = preprocess(defs, { I: ' +42 ', F: new FloatLiteral(2), S: 7, Big: 9223372036854775807n });
    assert.deepEqual(values, {
      I: { type: 'INT', value: '42' },
      F: { type: 'FLOAT', value: '2.0' },
      S: { type: 'STRING', value: '7' },
      Big: { type: 'INT', value: '9223372036854775807' },
    });
    assert.equal(
      preprocess(defs, { I: 1, F: '3.141592653589793', S: '', Big: '-9223372036854775808' }).F?.value,
      '3.141592653589793',
    );
  });

  it('fills in defaults and reports missing, unknown and wrongly typed values together', () => {
    const defs = definitions(`- {name: A, type: INT, default: 5}
- {name: B, type: INT}
- {name: C, type: FLOAT}`);
    assert.deepEqual(
      problems(() => preprocess(defs, { C: 'abc', Z: '1' })),
      [
        "Z: unknown job parameter 'Z'; the template defines A, B, C",
        "B: no value given for job parameter 'B', and it has no default",
        'C: expected a finite number for FLOAT parameter \'C\', got the string "abc"',
      ],
    );
    assert.equal(preprocess(defs, { B: '1', C: '1e3' }).A?.value, '5');
  });

  it('enforces constraints, comparing numbers by value', () => {
    const defs = definitions(`- {name: I, type: INT, minValue: "1", maxValue: 10}
- {name: F, type: FLOAT, allowedValues: ['1.5', '04.5']}
- {name: S, type: STRING, minLength: 2, allowedValues: [ab, cd]}`);
    assert.equal(preprocess(defs, { I: 10, F: 4.5, S: 'cd' }).F?.value, '4.5');
    assert.deepEqual(
      problems(() => preprocess(defs, { I: 11, F: '4.6', S: 'x' })),
      [
        'I: 11 is greater than maxValue 10',
        'F: 4.6 is not one of the allowedValues (1.5, 04.5)',
        'S: "x" is shorter than minLength 2',
      ],
    );
  });

  it('rejects INT values outside 64 bits and FLOATs that are not finite', () => {
    const defs = definitions(`- {name: I, type: INT}
- {name: F, type: FLOAT}`);
    assert.deepEqual(
      problems(() => preprocess(defs, { I: '9223372036854775808', F: 'inf' })),
      [
        'I: 9223372036854775808 is outside the 64-bit integer range of INT parameters',
        'F: expected a finite number for FLOAT parameter \'F\', got the string "inf"',
      ],
    );
  });

  it('joins PATH defaults with the template directory and values with the working directory', () => {
    const defs = definitions(`- {name: D, type: PATH, default: ./a/./../b/.}
- {name: V, type: PATH}
- {name: U, type: PATH, default: x}`);
    const values = preprocess(defs, { V: 'sub/../other', U: '../up' });
    assert.equal(values.D?.value, '/templates/job/b');
    assert.equal(values.V?.value, '/home/artist/shot/other');
    assert.equal(values.U?.value, '/home/artist/up', 'submitted values may walk up');
  });

  it('keeps PATH defaults inside the template directory and relative', () => {
    for (const bad of ['..', '../b', './../b', 'a/../../x', '/abs']) {
      const defs = definitions(`- {name: D, type: PATH, default: "${bad}"}`);
      assert.match(
        problems(() => preprocess(defs, {}))[0]!,
        /D: default .*(outside the job template's directory|is absolute)/,
        bad,
      );
    }
    for (const good of ['.', 'a/..', '..name/name../...', 'a/b/c/../../../d']) {
      const defs = definitions(`- {name: D, type: PATH, default: "${good}"}`);
      assert.ok(preprocess(defs, {}).D?.value.startsWith('/templates/job'), good);
    }
    const defs = definitions(`- {name: D, type: PATH, default: "../shared"}`);
    assert.equal(preprocess(defs, {}, { allowTemplateDirectoryWalkUp: true }).D?.value, '/templates/shared');
  });

  it('checks PATH constraints after joining', () => {
    const defs = definitions(`- {name: D, type: PATH, default: config/a, allowedValues: [config/a, config/b]}`);
    assert.match(
      problems(() => preprocess(defs, {}))[0]!,
      /"\/templates\/job\/config\/a" is not one of the allowedValues/,
    );
  });

  it('handles Windows paths when asked to', () => {
    const defs = definitions(`- {name: D, type: PATH, default: "a\\\\..\\\\..\\\\b"}
- {name: V, type: PATH}`);
    assert.match(
      problems(() =>
        preprocess(
          defs,
          { V: 'x' },
          { pathFormat: 'windows', templateDirectory: 'C:\\t', currentWorkingDirectory: 'D:\\w' },
        ),
      )[0]!,
      /outside the job template's directory/,
    );
  });

  it('round-trips any INT value in range (property)', () => {
    const defs = definitions('- {name: I, type: INT}');
    fc.assert(
      fc.property(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), (n) => {
        assert.equal(preprocess(defs, { I: n.toString() }).I?.value, n.toString());
        assert.equal(preprocess(defs, { I: n }).I?.value, n.toString());
      }),
    );
  });
});

describe('mergeJobParameterDefinitions', () => {
  const env = (params: string) =>
    decodeEnvironmentTemplate({
      text: `specificationVersion: environment-2023-09\nparameterDefinitions:\n${params}\nenvironment: {name: E, variables: {A: b}}\n`,
    });
  const job = (params: string) =>
    decodeJobTemplate({
      text: `specificationVersion: jobtemplate-2023-09\nname: X\nparameterDefinitions:\n${params}\nsteps:\n- name: S\n  script: {actions: {onRun: {command: x}}}\n`,
    });

  it('narrows constraints and takes the last default', () => {
    const merged = mergeJobParameterDefinitions({
      environmentTemplates: [
        env('- {name: N, type: INT, minValue: 1, maxValue: 100, default: 50, allowedValues: [1, 50, 60, 100]}'),
      ],
      jobTemplate: job(
        '- {name: N, type: INT, minValue: 10, maxValue: 1000, default: 60, allowedValues: [50, "60", 70]}',
      ),
    });
    assert.deepEqual(merged, [
      { name: 'N', type: 'INT', minValue: 10, maxValue: 100, default: 60, allowedValues: [50, 60] },
    ]);
  });

  it('keeps a default given only by an environment template', () => {
    const merged = mergeJobParameterDefinitions({
      environmentTemplates: [env('- {name: S, type: STRING, default: fromEnv}')],
      jobTemplate: job('- {name: S, type: STRING}'),
    });
    assert.equal(merged[0]?.type === 'STRING' && merged[0].default, 'fromEnv');
  });

  it('reports type and PATH kind conflicts, empty intersections and inconsistent results', () => {
    const error = (() => {
      try {
        mergeJobParameterDefinitions({
          environmentTemplates: [
            env(`- {name: T, type: INT}
- {name: P, type: PATH, objectType: FILE}
- {name: A, type: STRING, allowedValues: [x]}
- {name: M, type: FLOAT, minValue: 10.0}`),
          ],
          environmentTemplateNames: ['queue.yaml'],
          jobTemplate: job(`- {name: T, type: STRING}
- {name: P, type: PATH, objectType: DIRECTORY}
- {name: A, type: STRING, allowedValues: [y]}
- {name: M, type: FLOAT, minValue: 0.0, default: 5}`),
        });
      } catch (e) {
        return e;
      }
    })();
    assert.ok(error instanceof ParameterError);
    assert.equal(error.code, ModelErrorCode.ParameterConflict);
    assert.deepEqual(
      error.issues.map((i) => i.message),
      [
        "parameter 'T': defined as INT and as STRING (environment template 'queue.yaml' and the job template)",
        "parameter 'P': objectType is FILE in one definition and DIRECTORY in another (environment template 'queue.yaml' and the job template)",
        "parameter 'A': the allowedValues of the definitions have no value in common (environment template 'queue.yaml' and the job template)",
        "parameter 'M' after merging: default 5 is less than minValue 10.0",
      ],
    );
  });
});
