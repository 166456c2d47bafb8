/** @module Tests of the dashboard's submit form: template parameters to fields, and fields back to values. */

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Field, groupFields, parameterValues, readTemplate } from '../../web/src/submit-form.js';

/** A job template with the given `parameterDefinitions` YAML (list items, indented by two). */
const template = (definitions: string, name = 'Job') =>
  `specificationVersion: jobtemplate-2023-09\nname: ${name}\nparameterDefinitions:\n${definitions}`;

/** The one field of a template with one parameter definition. */
function only(definition: string): Field {
  const reading = readTemplate({ template: template(definition) });
  assert.equal(reading.error, undefined);
  assert.equal(reading.fields.length, 1);
  return reading.fields[0]!;
}

describe('readTemplate: controls', () => {
  it('gives STRING with allowedValues a dropdown', () => {
    const field = only(`- name: Quality
  type: STRING
  allowedValues: [low, high]
  default: low
`);
    assert.equal(field.control, 'DROPDOWN_LIST');
    assert.deepEqual(field.options, ['low', 'high']);
    assert.equal(field.initial, 'low');
  });

  it('gives STRING a line edit by default, and a multi-line edit when asked', () => {
    assert.equal(only('- name: A\n  type: STRING\n').control, 'LINE_EDIT');
    assert.equal(only('- name: A\n  type: STRING\n  userInterface:\n    control: LINE_EDIT\n').control, 'LINE_EDIT');
    const multi = only(`- name: Notes
  type: STRING
  minLength: 1
  maxLength: 200
  userInterface:
    control: MULTILINE_EDIT
`);
    assert.equal(multi.control, 'MULTILINE_EDIT');
    assert.equal(multi.minLength, 1);
    assert.equal(multi.maxLength, 200);
  });

  it('gives a STRING check box its allowed pair, keeping their case, initial from the default', () => {
    const definition = (value: string) => `- name: Denoise
  type: STRING
  allowedValues: [Yes, No]
  default: ${value}
  userInterface:
    control: CHECK_BOX
`;
    const on = only(definition('"Yes"'));
    assert.equal(on.control, 'CHECK_BOX');
    assert.deepEqual(on.checked, ['Yes', 'No']);
    assert.equal(on.initial, 'Yes');
    assert.equal(on.required, false);
    assert.equal(only(definition('"No"')).initial, 'No');
  });

  it('gives BOOL a true/false check box', () => {
    const on = only('- name: Flag\n  type: BOOL\n  default: true\n');
    assert.equal(on.control, 'CHECK_BOX');
    assert.deepEqual(on.checked, ['true', 'false']);
    assert.equal(on.initial, 'true');
    assert.equal(only('- name: Flag\n  type: BOOL\n  default: false\n').initial, 'false');
    const unset = only('- name: Flag\n  type: BOOL\n');
    assert.equal(unset.initial, 'false');
    assert.equal(unset.required, false);
  });

  it('gives INT a spin box with its bounds and step', () => {
    const plain = only('- name: Frames\n  type: INT\n  minValue: 1\n  maxValue: 100\n  default: 10\n');
    assert.equal(plain.control, 'SPIN_BOX');
    assert.equal(plain.step, 1);
    assert.equal(plain.min, 1);
    assert.equal(plain.max, 100);
    assert.equal(plain.initial, '10');
    const stepped = only('- name: Frames\n  type: INT\n  userInterface:\n    singleStepDelta: 5\n');
    assert.equal(stepped.step, 5);
    assert.equal(stepped.min, undefined);
    assert.equal(stepped.max, undefined);
  });

  it('gives FLOAT a spin box whose step follows decimals', () => {
    const field = only('- name: Scale\n  type: FLOAT\n  default: 1.5\n  userInterface:\n    decimals: 2\n');
    assert.equal(field.control, 'SPIN_BOX');
    assert.equal(field.step, 0.01);
    assert.equal(field.initial, '1.5');
    assert.equal(only('- name: Scale\n  type: FLOAT\n').step, 'any');
    assert.equal(only('- name: Scale\n  type: FLOAT\n  userInterface:\n    singleStepDelta: 0.5\n').step, 0.5);
  });

  it('gives PATH a file or directory chooser by object type and data flow', () => {
    assert.equal(
      only('- name: Out\n  type: PATH\n  objectType: FILE\n  dataFlow: OUT\n').control,
      'CHOOSE_OUTPUT_FILE',
    );
    assert.equal(only('- name: In\n  type: PATH\n  objectType: FILE\n  dataFlow: IN\n').control, 'CHOOSE_INPUT_FILE');
    assert.equal(only('- name: In\n  type: PATH\n  objectType: FILE\n').control, 'CHOOSE_INPUT_FILE');
    assert.equal(only('- name: Dir\n  type: PATH\n').control, 'CHOOSE_DIRECTORY');
    assert.equal(only('- name: Dir\n  type: PATH\n  objectType: DIRECTORY\n').control, 'CHOOSE_DIRECTORY');
  });

  it('uses label and groupLabel, and marks parameters without a default required', () => {
    const reading = readTemplate({
      template: template(`- name: Frames
  type: INT
  description: Frames to render
  userInterface:
    label: Frame count
    groupLabel: Render
- name: Camera
  type: STRING
  default: main
`),
    });
    const [frames, camera] = reading.fields;
    assert.equal(reading.name, 'Job');
    assert.equal(frames?.label, 'Frame count');
    assert.equal(frames?.group, 'Render');
    assert.equal(frames?.description, 'Frames to render');
    assert.equal(frames?.required, true);
    assert.equal(frames?.initial, '');
    assert.equal(camera?.label, 'Camera');
    assert.equal(camera?.group, undefined);
    assert.equal(camera?.required, false);
  });
});

describe('readTemplate: sources', () => {
  it("merges environment templates' definitions, the job's winning for the same name", () => {
    const environment = `specificationVersion: environment-2023-09
parameterDefinitions:
- name: Shared
  type: STRING
  default: from-env
  userInterface:
    label: Env label
- name: EnvOnly
  type: INT
  default: 3
environment:
  name: Env
  variables:
    X: "1"
`;
    const reading = readTemplate({
      template: template('- name: Shared\n  type: STRING\n  default: from-job\n- name: JobOnly\n  type: BOOL\n'),
      environments: [environment],
    });
    assert.equal(reading.error, undefined);
    const byName = new Map(reading.fields.map((f) => [f.name, f]));
    assert.deepEqual([...byName.keys()].sort(), ['EnvOnly', 'JobOnly', 'Shared']);
    assert.equal(byName.get('Shared')?.initial, 'from-job');
    assert.equal(byName.get('Shared')?.label, 'Shared');
    assert.equal(byName.get('EnvOnly')?.initial, '3');
  });

  it('reports a YAML syntax error with no fields', () => {
    const reading = readTemplate({ template: 'specificationVersion: [jobtemplate-2023-09\nname: x\n' });
    assert.equal(typeof reading.error, 'string');
    assert.notEqual(reading.error, '');
    assert.deepEqual(reading.fields, []);
  });

  it('names an environment template in its syntax error', () => {
    const reading = readTemplate({ template: template('- name: A\n  type: STRING\n'), environments: ['a: [b\n'] });
    assert.match(reading.error ?? '', /^An environment template: /);
    assert.deepEqual(reading.fields, []);
  });

  it('gives no fields and no error for an empty template', () => {
    assert.deepEqual(readTemplate({ template: '' }), { fields: [] });
    assert.deepEqual(readTemplate({ template: '   \n' }), { fields: [] });
  });

  it('gives no fields for a template without parameters, and skips malformed definitions', () => {
    assert.deepEqual(readTemplate({ template: 'specificationVersion: jobtemplate-2023-09\nname: J\n' }), {
      fields: [],
      name: 'J',
    });
    const reading = readTemplate({ template: template('- name: A\n- type: INT\n- 7\n- name: B\n  type: INT\n') });
    assert.deepEqual(
      reading.fields.map((f) => f.name),
      ['B'],
    );
  });

  it('rejects a template that is not a mapping', () => {
    const reading = readTemplate({ template: 'just a string' });
    assert.equal(typeof reading.error, 'string');
    assert.deepEqual(reading.fields, []);
  });
});

const hiddenTemplate = template(`- name: Visible
  type: STRING
  default: v
- name: Secret
  type: STRING
  default: s
  userInterface:
    control: HIDDEN
- name: Frames
  type: INT
  userInterface:
    groupLabel: Render
- name: Camera
  type: STRING
  default: main
  userInterface:
    groupLabel: Render
- name: Fast
  type: BOOL
  default: false
`);

describe('groupFields', () => {
  it('leaves out hidden fields and gathers each group where its first field was', () => {
    const { fields } = readTemplate({ template: hiddenTemplate });
    assert.equal(fields.find((f) => f.name === 'Secret')?.control, 'HIDDEN');
    const groups = groupFields(fields);
    assert.deepEqual(
      groups.map((g) => [g.group, g.fields.map((f) => f.name)]),
      [
        [undefined, ['Visible', 'Fast']],
        ['Render', ['Frames', 'Camera']],
      ],
    );
    assert.ok(!('group' in groups[0]!));
  });
});

describe('parameterValues', () => {
  const { fields } = readTemplate({ template: hiddenTemplate });

  it('sends the entered values as strings, leaving hidden fields out', () => {
    assert.deepEqual(parameterValues(fields, { Visible: 'x', Frames: '24', Camera: 'side', Fast: 'true' }), {
      Visible: 'x',
      Frames: '24',
      Camera: 'side',
      Fast: 'true',
    });
  });

  it('falls back to the initial text for fields not entered', () => {
    assert.deepEqual(parameterValues(fields, {}), { Visible: 'v', Camera: 'main', Fast: 'false' });
  });

  it('omits an empty optional INT so its default applies', () => {
    const reading = readTemplate({
      template: template('- name: Count\n  type: INT\n  default: 5\n- name: Scale\n  type: FLOAT\n  default: 1\n'),
    });
    assert.deepEqual(parameterValues(reading.fields, { Count: '', Scale: '' }), {});
    assert.deepEqual(parameterValues(reading.fields, { Count: '7' }), { Count: '7', Scale: '1' });
  });

  it('omits an empty required STRING', () => {
    const reading = readTemplate({ template: template('- name: Title\n  type: STRING\n') });
    assert.deepEqual(parameterValues(reading.fields, { Title: '' }), {});
    assert.deepEqual(parameterValues(reading.fields, { Title: 'hi' }), { Title: 'hi' });
  });

  it("sends a check box's own values", () => {
    const reading = readTemplate({
      template: template(`- name: Denoise
  type: STRING
  allowedValues: [Yes, No]
  default: "No"
  userInterface:
    control: CHECK_BOX
- name: Flag
  type: BOOL
`),
    });
    const [denoise, flag] = reading.fields;
    assert.deepEqual(parameterValues(reading.fields, {}), { Denoise: 'No', Flag: 'false' });
    assert.deepEqual(parameterValues(reading.fields, { Denoise: denoise!.checked![0], Flag: flag!.checked![0] }), {
      Denoise: 'Yes',
      Flag: 'true',
    });
  });
});
