/**
 * @module corral/client: the farm API's typed client. Runs in Node 20+ and in browsers (fetch, web streams only).
 */

export {
  CorralError,
  IssuesError,
  JobCreationError,
  ParameterError,
  TemplateError,
  type ValidationIssue,
} from '../../model/errors.js';
export type * from '../api/types.js';
export { JOB_STATES, STEP_STATES, TASK_STATES, WORKER_STATES } from '../api/types.js';
export { FarmErrorCode } from '../errors.js';
export { createClient } from './client.js';
export { errorFromBody } from './http.js';
export type * from './types.js';
