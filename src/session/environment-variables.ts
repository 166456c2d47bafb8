/**
 * @module The environment variables an action sees: the session's base (the agent's own environment with the
 * caller's overrides), then, for each entered environment in order, its `variables`, what its `onEnter` set with
 * `openjd_env`, minus what it unset with `openjd_unset_env` (an unset beats a set of the same environment), and
 * last `OPENJD_SESSION_WORKING_DIR`.
 */

/** What one entered environment contributes. */
export class EnvironmentLayer {
  readonly variables: Readonly<Record<string, string>>;
  readonly #set = new Map<string, string>();
  readonly #unset = new Set<string>();
  /** Changes with every set or unset, so a computed environment knows when it is stale. */
  version = 0;

  constructor(variables: Readonly<Record<string, string>>) {
    this.variables = variables;
  }

  set(name: string, value: string): void {
    this.#set.set(name, value);
    this.version++;
  }

  unset(name: string): void {
    this.#unset.add(name);
    this.version++;
  }

  applyTo(env: Record<string, string>): void {
    for (const [name, value] of Object.entries(this.variables)) env[name] = value;
    for (const [name, value] of this.#set) env[name] = value;
    for (const name of this.#unset) delete env[name];
  }
}

/**
 * Builds an action's complete environment.
 * @param base The session's base variables (already with overrides applied).
 * @param layers Entered environments, outermost first.
 */
export function actionEnvironment(
  base: Readonly<Record<string, string>>,
  layers: readonly EnvironmentLayer[],
  workingDirectory: string,
): Record<string, string> {
  const env: Record<string, string> = { ...base };
  for (const layer of layers) layer.applyTo(env);
  env.OPENJD_SESSION_WORKING_DIR = workingDirectory;
  return env;
}

/**
 * The base environment of a session: `source` (normally the agent's process environment) with `overrides` applied
 * (`undefined` removes a variable) and `remove` (names that must never reach jobs, such as the agent's token) gone.
 */
export function sessionBaseEnvironment(
  source: Readonly<Record<string, string | undefined>>,
  overrides: Readonly<Record<string, string | undefined>> = {},
  remove: readonly string[] = [],
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(source)) if (value !== undefined) env[name] = value;
  for (const [name, value] of Object.entries(overrides)) {
    if (value === undefined) delete env[name];
    else env[name] = value;
  }
  for (const name of remove) delete env[name];
  return env;
}
