/**
 * @module Schemas of the two root documents: the job template (§1.1) and the environment template (§1.2).
 */
import type { EnvironmentTemplate, JobTemplate } from '../types.js';
import { ENVIRONMENT_TEMPLATE_VERSION, JOB_TEMPLATE_VERSION } from '../types.js';
import { list, literal, object, optional, required, type Schema } from './core.js';
import { description, text } from './leaves.js';
import { parameterDefinitions } from './parameters.js';
import { environment, environments } from './scripts.js';
import { steps } from './steps.js';

const extensionsField = () =>
  optional(
    list(
      text({ pattern: /^[A-Z_0-9]{3,128}$/, patternMessage: 'must be an extension name: 3 to 128 of A-Z, 0-9 and _' }),
      {
        min: 1,
      },
    ),
    'Extensions the template uses: TASK_CHUNKING, REDACTED_ENV_VARS, FEATURE_BUNDLE_1.',
  );

/** `jobtemplate-2023-09`. */
export const jobTemplateSchema: Schema<JobTemplate> = object<JobTemplate>(
  {
    specificationVersion: required(literal(JOB_TEMPLATE_VERSION)),
    extensions: extensionsField(),
    name: required(text({ min: 1, max: (limits) => limits.jobName, chars: 'cc', formatString: true })),
    description: optional(description()),
    parameterDefinitions: optional(parameterDefinitions({ environmentTemplate: false })),
    jobEnvironments: optional(environments()),
    steps: required(steps()),
  },
  { ignoredKeys: ['$schema'], description: 'An Open Job Description job template (jobtemplate-2023-09).' },
);

/** `environment-2023-09`. */
export const environmentTemplateSchema: Schema<EnvironmentTemplate> = object<EnvironmentTemplate>(
  {
    specificationVersion: required(literal(ENVIRONMENT_TEMPLATE_VERSION)),
    extensions: extensionsField(),
    parameterDefinitions: optional(parameterDefinitions({ environmentTemplate: true })),
    environment: required(environment),
  },
  {
    ignoredKeys: ['$schema'],
    description: 'An Open Job Description environment template (environment-2023-09).',
  },
);
