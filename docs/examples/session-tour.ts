// Runs every task of a job's first step in one session with corral/session, the way a worker does:
// enter the job's and the step's environments, run the tasks, react to status and progress, cancel on Ctrl-C,
// and always exit the environments and clean up.
import { createJob, decodeJobTemplate, type ResolvedEnvironment } from 'corral/model';
import { ActionState, type LogSink, Session } from 'corral/session';

const job = createJob({
  template: decodeJobTemplate({
    text: `
specificationVersion: jobtemplate-2023-09
name: Tour
parameterDefinitions: [{name: Greeting, type: STRING, default: Hello}]
jobEnvironments:
- name: Tools
  script:
    actions:
      onEnter: {command: bash, args: ["-c", "echo 'openjd_env: TOOLS=ready'"]}
      onExit: {command: bash, args: ["-c", "echo tools put away"]}
steps:
- name: Greet
  stepEnvironments: [{name: Voice, variables: {VOICE: loud}}]
  parameterSpace:
    taskParameterDefinitions: [{name: Who, type: STRING, range: [world, farm]}]
  script:
    actions:
      onRun:
        command: bash
        args: ["-c", "echo 'openjd_progress: 50'; echo \\"{{Param.Greeting}}, {{Task.Param.Who}} ($VOICE, $TOOLS)\\""]
`,
  }),
});

// Every output line and runtime message arrives here, already redacted.
const log: LogSink = {
  output: (line) => console.log(`  | ${line}`),
  info: (message, _time, level) => {
    if (level !== 'debug') console.log(`  ${message}`);
  },
};

const session = await Session.create({
  sessionId: 'tour',
  jobParameters: job.parameters,
  logSink: log,
  onActionStatus: (status) => {
    if (status.progress !== undefined && status.state === ActionState.Running) {
      console.log(`  [${status.action.name}] ${status.progress}% done`);
    }
  },
});
// Ctrl-C cancels the running action with its own cancel mode; the environments are still exited below.
let interrupted = false;
process.once('SIGINT', () => {
  interrupted = true;
  session.cancelAction();
});

const step = job.steps[0]!;
const entered: ResolvedEnvironment[] = [];
try {
  for (const environment of [...job.jobEnvironments, ...step.stepEnvironments]) {
    entered.push(environment);
    if ((await session.enterEnvironment({ environment })).state !== ActionState.Success) break;
  }
  for (const task of step.parameterSpace.tasks()) {
    if (interrupted || entered.length === 0) break;
    const status = await session.runTask({ stepName: step.name, script: step.script, taskParameters: task });
    console.log(`  task ${task.Who!.value}: ${status.state} in ${status.durationSeconds?.toFixed(2)} s`);
    if (status.state !== ActionState.Success) break;
  }
} finally {
  for (const environment of entered.reverse()) await session.exitEnvironment({ identifier: environment.name });
  await session.cleanup();
}
console.log(`session ${session.state}`);
