/**
 * @module Submit a job: paste or upload a template (and environment templates); the form for its parameters is
 * generated from their definitions. The server checks everything; its complaints appear next to the parameter they
 * name, or as the template's line:col with a button that selects that line.
 */
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { CorralError, type Queue, type ValidationIssue } from '../../../src/farm/client/index.js';
import { messageOf } from '../notices.js';
import { navigate } from '../router.js';
import { client, handleAuthError } from '../session.js';
import { type Field, groupFields, parameterValues, readTemplate } from '../submit-form.js';

interface Environment {
  readonly id: number;
  name: string;
  text: string;
}

const PARAMETER_CODES = new Set(['CORRAL_E_PARAMETER_INVALID', 'CORRAL_E_PARAMETER_CONFLICT']);
let nextEnvironment = 1;

function FieldInput({
  field,
  value,
  error,
  onChange,
}: {
  field: Field;
  value: string;
  error: string | undefined;
  onChange: (value: string) => void;
}) {
  const id = `param-${field.name}`;
  const describedBy = [field.description ? `${id}-help` : '', error ? `${id}-error` : ''].filter(Boolean).join(' ');
  const common = {
    id,
    name: field.name,
    'aria-invalid': error ? true : undefined,
    'aria-describedby': describedBy || undefined,
  };
  let input: preact.JSX.Element;
  switch (field.control) {
    case 'CHECK_BOX':
      input = (
        <input
          {...common}
          type="checkbox"
          checked={value === field.checked![0]}
          onChange={(e) => onChange(e.currentTarget.checked ? field.checked![0] : field.checked![1])}
        />
      );
      break;
    case 'DROPDOWN_LIST':
      input = (
        <select {...common} value={value} required={field.required} onChange={(e) => onChange(e.currentTarget.value)}>
          {field.required && value === '' ? <option value="">Choose…</option> : null}
          {(field.options ?? []).map((option) => (
            <option key={option} value={option}>
              {option}
            </option>
          ))}
        </select>
      );
      break;
    case 'MULTILINE_EDIT':
    case 'LIST':
      input = (
        <textarea
          {...common}
          rows={field.control === 'LIST' ? 4 : 5}
          value={value}
          required={field.required}
          minLength={field.minLength}
          maxLength={field.maxLength}
          placeholder={field.control === 'LIST' ? 'One item per line' : undefined}
          onInput={(e) => onChange(e.currentTarget.value)}
        />
      );
      break;
    case 'SPIN_BOX':
      input = (
        <input
          {...common}
          type="number"
          inputMode={field.type === 'INT' ? 'numeric' : 'decimal'}
          value={value}
          min={field.min}
          max={field.max}
          step={field.step}
          required={field.required}
          onInput={(e) => onChange(e.currentTarget.value)}
        />
      );
      break;
    default: {
      const path = field.control.startsWith('CHOOSE_');
      input = (
        <input
          {...common}
          type="text"
          value={value}
          required={field.required}
          minLength={field.minLength}
          maxLength={field.maxLength}
          spellcheck={!path}
          class={path ? 'mono' : undefined}
          placeholder={
            field.control === 'CHOOSE_DIRECTORY'
              ? 'A directory on the workers, e.g. /mnt/projects/shot/out'
              : field.control === 'CHOOSE_INPUT_FILE'
                ? 'A file the workers can read'
                : field.control === 'CHOOSE_OUTPUT_FILE'
                  ? 'A file the workers write'
                  : undefined
          }
          onInput={(e) => onChange(e.currentTarget.value)}
        />
      );
    }
  }
  const hint = [
    field.description,
    field.min !== undefined || field.max !== undefined ? `${field.min ?? '…'} to ${field.max ?? '…'}` : '',
    field.fileFilters?.length ? `Files: ${field.fileFilters.join(', ')}` : '',
  ]
    .filter(Boolean)
    .join(' · ');
  return (
    <div class={`field ${field.control === 'CHECK_BOX' ? 'field-check' : ''}`}>
      <label for={id}>
        {field.label}
        {field.required ? <span aria-hidden="true"> *</span> : null}
      </label>
      {input}
      {hint ? (
        <p id={`${id}-help`} class="hint">
          {hint}
        </p>
      ) : null}
      {error ? (
        <p id={`${id}-error`} class="error">
          {error}
        </p>
      ) : null}
    </div>
  );
}

async function readFile(file: File): Promise<string> {
  return await file.text();
}

export function SubmitView() {
  const [template, setTemplate] = useState('');
  const [environments, setEnvironments] = useState<Environment[]>([]);
  const [values, setValues] = useState<Record<string, string>>({});
  const [name, setName] = useState('');
  const [queue, setQueue] = useState('');
  const [queues, setQueues] = useState<Queue[]>([]);
  const [priority, setPriority] = useState('50');
  const [retries, setRetries] = useState('2');
  const [continueOnFailure, setContinueOnFailure] = useState(false);
  const [busy, setBusy] = useState(false);
  const [fieldErrors, setFieldErrors] = useState<Record<string, string>>({});
  const [issues, setIssues] = useState<readonly ValidationIssue[]>([]);
  const [failure, setFailure] = useState<string>();
  const editor = useRef<HTMLTextAreaElement>(null);

  useEffect(() => {
    client.value.listQueues().then(
      (r) => setQueues(r.queues),
      () => {},
    );
  }, []);

  const reading = useMemo(
    () => readTemplate({ template, environments: environments.map((e) => e.text) }),
    [template, environments],
  );
  const groups = groupFields(reading.fields);
  const fieldValue = (field: Field) => values[field.name] ?? field.initial;

  const goToLine = (line: number, column = 1) => {
    const el = editor.current;
    if (!el) return;
    const lines = el.value.split('\n');
    const start = lines.slice(0, line - 1).reduce((n, l) => n + l.length + 1, 0) + Math.max(0, column - 1);
    const end = lines.slice(0, line).reduce((n, l) => n + l.length + 1, 0) - 1;
    el.focus();
    el.setSelectionRange(start, Math.max(start, end));
    // Scroll the selected line into view: browsers do not always do it for a programmatic selection.
    const lineHeight = Number.parseFloat(getComputedStyle(el).lineHeight) || 18;
    el.scrollTop = Math.max(0, (line - 3) * lineHeight);
  };

  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setFailure(undefined);
    setIssues([]);
    setFieldErrors({});
    try {
      const { jobId } = await client.value.submitJob({
        template,
        ...(environments.length > 0
          ? { environmentTemplates: environments.map((e) => ({ name: e.name || `environment-${e.id}`, text: e.text })) }
          : {}),
        parameters: parameterValues(reading.fields, values),
        ...(name.trim() ? { name: name.trim() } : {}),
        ...(queue ? { queue } : {}),
        priority: Number(priority),
        maxRetriesPerTask: Number(retries),
        continueOnFailure,
      });
      navigate(`/jobs/${jobId}`);
    } catch (e) {
      if (handleAuthError(e)) return;
      setFailure(messageOf(e).split('\n')[0]);
      const found =
        e instanceof CorralError && 'issues' in e ? ((e as { issues: readonly ValidationIssue[] }).issues ?? []) : [];
      const byField: Record<string, string> = {};
      const rest: ValidationIssue[] = [];
      for (const issue of found) {
        const first = issue.path[0];
        if (
          PARAMETER_CODES.has((e as CorralError).code) &&
          typeof first === 'string' &&
          reading.fields.some((f) => f.name === first)
        ) {
          byField[first] = byField[first] ? `${byField[first]}; ${issue.message}` : issue.message;
        } else rest.push(issue);
      }
      setFieldErrors(byField);
      setIssues(rest);
      const firstField = Object.keys(byField)[0];
      if (firstField) document.getElementById(`param-${firstField}`)?.focus();
    } finally {
      setBusy(false);
    }
  };

  const addEnvironmentFiles = async (files: FileList | null) => {
    const added: Environment[] = [];
    for (const file of Array.from(files ?? [])) {
      added.push({
        id: nextEnvironment++,
        name: file.name.replace(/\.(ya?ml|json)$/i, ''),
        text: await readFile(file),
      });
    }
    setEnvironments([...environments, ...added]);
  };
  const updateEnvironment = (id: number, change: Partial<Environment>) =>
    setEnvironments(environments.map((e) => (e.id === id ? { ...e, ...change } : e)));

  return (
    <section aria-labelledby="submit-title">
      <div class="page-head">
        <h1 id="submit-title">Submit a job</h1>
      </div>
      <form class="submit" onSubmit={submit} noValidate>
        <div class="submit-source">
          <div class="field">
            <label for="template">Job template (YAML or JSON)</label>
            <textarea
              id="template"
              ref={editor}
              class="code"
              rows={18}
              spellcheck={false}
              value={template}
              placeholder={
                'specificationVersion: jobtemplate-2023-09\nname: My job\nsteps:\n  - name: Render\n    script: …'
              }
              onInput={(e) => setTemplate(e.currentTarget.value)}
              aria-describedby="template-status"
              aria-invalid={issues.length > 0 || reading.error ? true : undefined}
            />
            <div class="row">
              <label class="button">
                Upload a template…
                <input
                  type="file"
                  class="visually-hidden"
                  accept=".yaml,.yml,.json,application/json,text/yaml"
                  onChange={async (e) => {
                    const file = e.currentTarget.files?.[0];
                    if (file) setTemplate(await readFile(file));
                  }}
                />
              </label>
              <p id="template-status" class={reading.error ? 'error' : 'hint'}>
                {reading.error ??
                  (template.trim() === ''
                    ? 'Paste a template or upload one; its parameters become the form.'
                    : `${reading.fields.length} parameter${reading.fields.length === 1 ? '' : 's'}`)}
              </p>
            </div>
          </div>
          <fieldset class="environments">
            <legend>Environment templates</legend>
            {environments.length === 0 ? (
              <p class="hint">Optional: entered before the job's own environments.</p>
            ) : null}
            {environments.map((env) => (
              <div key={env.id} class="environment">
                <label>
                  Name
                  <input
                    type="text"
                    value={env.name}
                    onInput={(e) => updateEnvironment(env.id, { name: e.currentTarget.value })}
                  />
                </label>
                <label>
                  Template
                  <textarea
                    class="code"
                    rows={6}
                    spellcheck={false}
                    value={env.text}
                    onInput={(e) => updateEnvironment(env.id, { text: e.currentTarget.value })}
                  />
                </label>
                <button type="button" onClick={() => setEnvironments(environments.filter((e) => e.id !== env.id))}>
                  Remove
                </button>
              </div>
            ))}
            <div class="row">
              <button
                type="button"
                onClick={() => setEnvironments([...environments, { id: nextEnvironment++, name: '', text: '' }])}
              >
                Add an environment
              </button>
              <label class="button">
                Upload environments…
                <input
                  type="file"
                  multiple
                  class="visually-hidden"
                  accept=".yaml,.yml,.json"
                  onChange={(e) => void addEnvironmentFiles(e.currentTarget.files)}
                />
              </label>
            </div>
          </fieldset>
        </div>
        <div class="submit-form">
          {groups.length > 0 ? <h2>Parameters</h2> : null}
          {groups.map((g) =>
            g.group ? (
              <fieldset key={g.group} class="group">
                <legend>{g.group}</legend>
                {g.fields.map((f) => (
                  <FieldInput
                    key={f.name}
                    field={f}
                    value={fieldValue(f)}
                    error={fieldErrors[f.name]}
                    onChange={(v) => setValues({ ...values, [f.name]: v })}
                  />
                ))}
              </fieldset>
            ) : (
              g.fields.map((f) => (
                <FieldInput
                  key={f.name}
                  field={f}
                  value={fieldValue(f)}
                  error={fieldErrors[f.name]}
                  onChange={(v) => setValues({ ...values, [f.name]: v })}
                />
              ))
            ),
          )}
          <h2>Options</h2>
          <div class="field">
            <label for="job-name">Job name</label>
            <input
              id="job-name"
              type="text"
              value={name}
              placeholder={reading.name ?? 'From the template'}
              onInput={(e) => setName(e.currentTarget.value)}
            />
          </div>
          <div class="field">
            <label for="job-queue">Queue</label>
            <select id="job-queue" value={queue} onChange={(e) => setQueue(e.currentTarget.value)}>
              <option value="">Default</option>
              {queues.map((q) => (
                <option key={q.name} value={q.name}>
                  {q.name}
                </option>
              ))}
            </select>
          </div>
          <div class="field-row">
            <div class="field">
              <label for="job-priority-new">Priority</label>
              <input
                id="job-priority-new"
                type="number"
                min={0}
                max={100}
                value={priority}
                onInput={(e) => setPriority(e.currentTarget.value)}
              />
            </div>
            <div class="field">
              <label for="job-retries">Retries per task</label>
              <input
                id="job-retries"
                type="number"
                min={0}
                max={100}
                value={retries}
                onInput={(e) => setRetries(e.currentTarget.value)}
              />
            </div>
          </div>
          <div class="field field-check">
            <label for="job-continue">Keep going when a task fails for good</label>
            <input
              id="job-continue"
              type="checkbox"
              checked={continueOnFailure}
              onChange={(e) => setContinueOnFailure(e.currentTarget.checked)}
            />
          </div>
          {failure ? (
            <div class="error-box" role="alert">
              <p>{failure}</p>
              {issues.length > 0 ? (
                <ul>
                  {issues.map((issue, i) => (
                    <li key={i}>
                      {issue.line !== undefined ? (
                        <button type="button" class="link" onClick={() => goToLine(issue.line!, issue.column)}>
                          line {issue.line}:{issue.column ?? 1}
                        </button>
                      ) : issue.path.length > 0 ? (
                        <code>{issue.path.join('.')}</code>
                      ) : null}{' '}
                      {issue.message}
                    </li>
                  ))}
                </ul>
              ) : null}
            </div>
          ) : null}
          <button type="submit" class="primary" disabled={busy || template.trim() === ''}>
            {busy ? 'Submitting…' : 'Submit'}
          </button>
        </div>
      </form>
    </section>
  );
}
