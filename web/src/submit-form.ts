/**
 * @module The submit form, generated from a template's `parameterDefinitions` and their `userInterface` hints
 * (OpenJD 2023-09): which control each parameter gets, its label, group, default and constraints, and how the
 * form's text turns back into the values the API takes. Pure: no DOM.
 */
import { parse } from 'yaml';

export type Control =
  | 'LINE_EDIT'
  | 'MULTILINE_EDIT'
  | 'DROPDOWN_LIST'
  | 'CHECK_BOX'
  | 'SPIN_BOX'
  | 'CHOOSE_INPUT_FILE'
  | 'CHOOSE_OUTPUT_FILE'
  | 'CHOOSE_DIRECTORY'
  | 'LIST'
  | 'HIDDEN';

export interface Field {
  readonly name: string;
  readonly type: string;
  readonly control: Control;
  readonly label: string;
  readonly group?: string;
  readonly description?: string;
  /** The form's starting text ('' when the parameter has no default). */
  readonly initial: string;
  readonly required: boolean;
  readonly options?: readonly string[];
  /** CHECK_BOX: the value when checked and when not (`true`/`false`, `yes`/`no`, …). */
  readonly checked?: readonly [on: string, off: string];
  readonly min?: number;
  readonly max?: number;
  readonly step?: number | 'any';
  readonly minLength?: number;
  readonly maxLength?: number;
  /** LIST: the item type (`INT` for `LIST[INT]`). */
  readonly itemType?: string;
  /** Path fields: the file types the template suggests, shown as a hint. */
  readonly fileFilters?: readonly string[];
}

export interface TemplateReading {
  readonly fields: readonly Field[];
  /** The template's own name (a format string), if it has one. */
  readonly name?: string;
  /** Why the text could not be read (YAML syntax), with its line; the server's check is the authority. */
  readonly error?: string;
}

type Definition = Record<string, unknown> & {
  name?: unknown;
  type?: unknown;
  userInterface?: Record<string, unknown>;
};

const CHECK_PAIRS = [
  ['true', 'false'],
  ['yes', 'no'],
  ['on', 'off'],
  ['1', '0'],
] as const;

const text = (value: unknown) => (value === undefined || value === null ? '' : String(value));
const num = (value: unknown) =>
  typeof value === 'number'
    ? value
    : typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))
      ? Number(value)
      : undefined;

function controlOf(def: Definition, type: string): Control {
  const wanted = typeof def.userInterface?.control === 'string' ? (def.userInterface.control as string) : undefined;
  if (wanted === 'HIDDEN') return 'HIDDEN';
  if (type.startsWith('LIST[')) return 'LIST';
  if (wanted && wanted !== 'LINE_EDIT_LIST') {
    if (['LINE_EDIT', 'MULTILINE_EDIT', 'DROPDOWN_LIST', 'CHECK_BOX', 'SPIN_BOX'].includes(wanted))
      return wanted as Control;
    if (['CHOOSE_INPUT_FILE', 'CHOOSE_OUTPUT_FILE', 'CHOOSE_DIRECTORY'].includes(wanted)) return wanted as Control;
  }
  const allowed = Array.isArray(def.allowedValues);
  switch (type) {
    case 'BOOL':
      return 'CHECK_BOX';
    case 'INT':
    case 'FLOAT':
      return allowed ? 'DROPDOWN_LIST' : 'SPIN_BOX';
    case 'PATH':
      if (allowed) return 'DROPDOWN_LIST';
      if (def.objectType === 'FILE') return def.dataFlow === 'OUT' ? 'CHOOSE_OUTPUT_FILE' : 'CHOOSE_INPUT_FILE';
      return 'CHOOSE_DIRECTORY';
    default:
      return allowed ? 'DROPDOWN_LIST' : 'LINE_EDIT';
  }
}

function fieldOf(def: Definition): Field | undefined {
  if (typeof def.name !== 'string' || typeof def.type !== 'string') return undefined;
  const type = def.type;
  const ui = def.userInterface ?? {};
  const control = controlOf(def, type);
  const field: { -readonly [K in keyof Field]?: Field[K] } = {
    name: def.name,
    type,
    control,
    label: typeof ui.label === 'string' ? ui.label : def.name,
    required: def.default === undefined,
    initial: Array.isArray(def.default)
      ? def.default.map((v) => (Array.isArray(v) ? JSON.stringify(v) : text(v))).join('\n')
      : text(def.default),
  };
  if (typeof ui.groupLabel === 'string') field.group = ui.groupLabel;
  if (typeof def.description === 'string') field.description = def.description;
  if (Array.isArray(def.allowedValues)) field.options = def.allowedValues.map(text);
  const min = num(def.minValue);
  const max = num(def.maxValue);
  if (min !== undefined) field.min = min;
  if (max !== undefined) field.max = max;
  if (typeof def.minLength === 'number') field.minLength = def.minLength;
  if (typeof def.maxLength === 'number') field.maxLength = def.maxLength;
  if (control === 'SPIN_BOX') {
    const delta = num(ui.singleStepDelta);
    const decimals = num(ui.decimals);
    field.step = type === 'INT' ? (delta ?? 1) : (delta ?? (decimals !== undefined ? 10 ** -decimals : 'any'));
  }
  if (control === 'CHECK_BOX') {
    if (type === 'BOOL') field.checked = ['true', 'false'];
    else {
      const values = (field.options ?? []).map((v) => v.toLowerCase());
      const pair = CHECK_PAIRS.find(([on, off]) => values.includes(on) && values.includes(off));
      const original = (wanted: string) => field.options?.find((v) => v.toLowerCase() === wanted) ?? wanted;
      field.checked = pair ? [original(pair[0]), original(pair[1])] : ['true', 'false'];
    }
    const initial = field.initial?.toLowerCase() ?? '';
    field.initial = ['true', 'yes', 'on', '1'].includes(initial) ? field.checked[0] : field.checked[1];
    field.required = false;
  }
  if (type.startsWith('LIST[')) field.itemType = type.slice(5, -1);
  if (Array.isArray(ui.fileFilters)) {
    field.fileFilters = ui.fileFilters.flatMap((f: unknown) => {
      const filter = f as { label?: unknown; patterns?: unknown };
      return typeof filter.label === 'string' && Array.isArray(filter.patterns)
        ? [`${filter.label} (${filter.patterns.join(' ')})`]
        : [];
    });
  }
  return field as Field;
}

/**
 * Reads a job template's and its environment templates' parameter definitions, the job's own last (it wins
 * where both define a name).
 * @returns the fields, or the reason the text is not readable.
 */
export function readTemplate(options: { template: string; environments?: readonly string[] }): TemplateReading {
  const byName = new Map<string, Field>();
  let name: string | undefined;
  const sources = [
    ...(options.environments ?? []).map((t) => ({ text: t, job: false })),
    { text: options.template, job: true },
  ];
  for (const source of sources) {
    let document: unknown;
    try {
      document = parse(source.text, { prettyErrors: true });
    } catch (error) {
      const message = (error as Error).message.split('\n')[0] ?? 'invalid YAML';
      return { fields: [], error: source.job ? message : `An environment template: ${message}` };
    }
    if (document === null || typeof document !== 'object') {
      if (source.job && source.text.trim() !== '')
        return { fields: [], error: 'The template is not a YAML or JSON mapping.' };
      continue;
    }
    const root = document as { name?: unknown; parameterDefinitions?: unknown };
    if (source.job && typeof root.name === 'string') name = root.name;
    if (!Array.isArray(root.parameterDefinitions)) continue;
    for (const def of root.parameterDefinitions as Definition[]) {
      const field = def && typeof def === 'object' ? fieldOf(def) : undefined;
      if (field) byName.set(field.name, field);
    }
  }
  return { fields: [...byName.values()], ...(name !== undefined ? { name } : {}) };
}

/**
 * The values to submit: what the user entered for every shown field (hidden ones keep their defaults), empty
 * optional text left out so the template's default applies; lists one item per line.
 */
export function parameterValues(
  fields: readonly Field[],
  values: Readonly<Record<string, string>>,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const field of fields) {
    if (field.control === 'HIDDEN') continue;
    const value = values[field.name] ?? field.initial;
    if (field.control === 'LIST') {
      const items = value
        .split('\n')
        .map((line) => line.trim())
        .filter((line) => line !== '');
      if (items.length === 0 && !field.required && field.initial === '') continue;
      out[field.name] = items.map((item) => {
        if (field.itemType?.startsWith('LIST[')) {
          try {
            return JSON.parse(item) as unknown;
          } catch {
            return item;
          }
        }
        return item;
      });
      continue;
    }
    if (value === '' && field.type !== 'STRING') continue;
    if (value === '' && field.type === 'STRING' && field.initial === '' && field.required) continue;
    out[field.name] = value;
  }
  return out;
}

/** Fields in display order: ungrouped first, then each group where its first field was. */
export function groupFields(fields: readonly Field[]): { group?: string; fields: Field[] }[] {
  const groups: { group?: string; fields: Field[] }[] = [];
  for (const field of fields) {
    if (field.control === 'HIDDEN') continue;
    const existing = groups.find((g) => g.group === field.group);
    if (existing) existing.fields.push(field);
    else groups.push({ ...(field.group !== undefined ? { group: field.group } : {}), fields: [field] });
  }
  return groups;
}
