// A tour of corral/model: decode a template, read its errors, create a job, and walk its tasks.
import { createJob, decodeJobTemplate, formatIssue, type Job, ParameterError, TemplateError } from 'corral/model';

// 1. Decode: text in, a typed template out — or every problem at once, each with its path and line:col.
const text = `
specificationVersion: jobtemplate-2023-09
extensions: [TASK_CHUNKING]
name: "Render {{Param.Shot}}"
parameterDefinitions:
- {name: Shot, type: STRING, default: sh010}
- {name: Frames, type: STRING, default: "1-100"}
steps:
- name: Render
  parameterSpace:
    taskParameterDefinitions:
    - name: Frame
      type: CHUNK[INT]
      range: "{{Param.Frames}}"
      chunks: {defaultTaskCount: 25, rangeConstraint: CONTIGUOUS}
    - {name: Eye, type: STRING, range: [left, right]}
  script:
    actions:
      onRun: {command: render, args: ["--frames", "{{Task.Param.Frame}}", "--eye", "{{Task.Param.Eye}}"]}
`;
const template = decodeJobTemplate({ text, source: 'render.yaml' });

try {
  decodeJobTemplate({ text: text.replace('{{Task.Param.Eye}}', '{{Task.Param.Eyes}}'), source: 'render.yaml' });
} catch (error) {
  if (!(error instanceof TemplateError)) throw error;
  console.log(error.code); // CORRAL_E_TEMPLATE_INVALID
  for (const issue of error.issues) console.log(formatIssue(issue));
  // 19:84 steps[0].script.actions.onRun.args[3]: '{{Task.Param.Eyes}}' is not defined: no task parameter named 'Eyes' in this step (did you mean '{{Task.Param.Eye}}'?)
}

// 2. Create a job: parameter values are checked against their definitions; template-scope format strings resolve.
const job: Job = createJob({ template, parameterValues: { Shot: 'sh020', Frames: '1-1000' } });
console.log(job.name); // Render sh020

try {
  createJob({ template, parameterValues: { Shot: 'sh020', Frame: '1-10' } });
} catch (error) {
  if (!(error instanceof ParameterError)) throw error;
  console.log(error.issues.map((issue) => issue.message).join('; '));
  // unknown job parameter 'Frame'; the template defines Shot, Frames
}

// 3. Walk the tasks: counts and positions come without materialising the parameter space.
const render = job.steps[0]!.parameterSpace;
console.log(render.taskCount, render.chunkCount()); // 2000 80
console.log(render.taskAt(1999)); // { Frame: { type: 'CHUNK[INT]', value: '1000' }, Eye: { type: 'STRING', value: 'right' } }
let shown = 0;
for (const chunk of render.chunks()) {
  console.log(chunk.Eye!.value, chunk.Frame!.value); // left 1-25, left 26-50, ...
  if (++shown === 3) break;
}
