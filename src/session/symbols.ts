/**
 * @module The values host-scope format strings resolve against (`Param.*`, `RawParam.*`, `Task.Param.*`,
 * `Task.RawParam.*`, `Task.File.*`, `Env.File.*`, `Session.*`). PATH values are path-mapped in `Param` and
 * `Task.Param`, never in the `Raw` forms.
 */
import type { JobParameterValues } from '../model/job-parameters.js';
import type { TaskParameterSet } from '../model/parameter-space.js';
import type { PathMapper } from './path-mapping.js';

export interface SessionValues {
  readonly workingDirectory: string;
  readonly pathMappingRulesFile: string;
  readonly mapper: PathMapper;
  readonly jobParameters: JobParameterValues;
}

/** Builds the lookup for one action: session and job values, plus the task's parameters and the script's files. */
export function symbolLookup(
  session: SessionValues,
  extra: { task?: TaskParameterSet; files?: ReadonlyMap<string, string>; filePrefix?: 'Task.File' | 'Env.File' },
): (name: string) => string | undefined {
  return (name) => {
    const dot = name.indexOf('.');
    const head = name.slice(0, dot);
    const rest = name.slice(dot + 1);
    switch (head) {
      case 'Param': {
        const value = session.jobParameters[rest];
        if (!value) return undefined;
        return value.type === 'PATH' ? session.mapper.map(value.value) : value.value;
      }
      case 'RawParam':
        return session.jobParameters[rest]?.value;
      case 'Session':
        if (rest === 'WorkingDirectory') return session.workingDirectory;
        if (rest === 'PathMappingRulesFile') return session.pathMappingRulesFile;
        if (rest === 'HasPathMappingRules') return session.mapper.hasRules ? 'true' : 'false';
        return undefined;
      case 'Task':
      case 'Env': {
        const second = rest.slice(0, rest.indexOf('.'));
        const key = rest.slice(second.length + 1);
        if (second === 'File' && extra.filePrefix === `${head}.File`) return extra.files?.get(key);
        if (head !== 'Task' || !extra.task) return undefined;
        const value = extra.task[key];
        if (!value) return undefined;
        if (second === 'RawParam') return value.value;
        if (second === 'Param') return value.type === 'PATH' ? session.mapper.map(value.value) : value.value;
        return undefined;
      }
      default:
        return undefined;
    }
  };
}
