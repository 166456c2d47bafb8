/**
 * @module The order steps run in: dependencies first, otherwise the template's order.
 */
import type { JobStep } from './create-job.js';
import { CorralError, ModelErrorCode } from './errors.js';

/**
 * Steps in an order that puts every step after the steps it depends on, keeping the template's order otherwise.
 * @param options.step Only this step, and (with `withDependencies`) everything it needs, transitively.
 * @throws {CorralError} `CORRAL_E_INVALID_ARGUMENT` when `step` names no step of the job.
 */
export function stepsInRunOrder(
  steps: readonly JobStep[],
  options: { step?: string; withDependencies?: boolean } = {},
): JobStep[] {
  const byName = new Map(steps.map((s) => [s.name, s]));
  let wanted: Set<string>;
  if (options.step === undefined) wanted = new Set(byName.keys());
  else {
    if (!byName.has(options.step)) {
      throw new CorralError(
        ModelErrorCode.InvalidArgument,
        `The job has no step named '${options.step}'; its steps are ${steps.map((s) => `'${s.name}'`).join(', ')}.`,
      );
    }
    wanted = new Set([options.step]);
    if (options.withDependencies) {
      const pending = [options.step];
      while (pending.length > 0) {
        for (const dep of byName.get(pending.pop()!)!.dependsOn) {
          if (!wanted.has(dep)) {
            wanted.add(dep);
            pending.push(dep);
          }
        }
      }
    }
  }
  // Depth-first in template order: a step is placed after all it depends on (the template has no cycles).
  const placed = new Set<string>();
  const out: JobStep[] = [];
  const place = (step: JobStep): void => {
    if (placed.has(step.name)) return;
    placed.add(step.name);
    for (const dep of step.dependsOn) if (wanted.has(dep)) place(byName.get(dep)!);
    out.push(step);
  };
  for (const step of steps) if (wanted.has(step.name)) place(step);
  return out;
}
