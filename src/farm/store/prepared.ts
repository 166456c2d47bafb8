/**
 * @module Statements built and compiled once. A Kysely query is rebuilt and recompiled every time it runs, which on
 * the scheduler's hot path (a dozen statements per worker sync, thousands of syncs a second) cost more than SQLite
 * running them. A prepared statement builds its query once per dialect and shape with placeholders standing for its
 * arguments, keeps the compiled SQL, and later runs it with the arguments put in the placeholders' places.
 *
 * An argument that is an array (for `in`) is a list of placeholders, so each list length is a shape of its own.
 * Arguments named `fixed` change the query's text (a LIMIT written into it, whether an optional condition is there):
 * the builder gets their values, and each value is a shape of its own. Other arguments never reach the SQL's text,
 * only the driver's parameters.
 */
import { type Compilable, CompiledQuery, type Kysely, type QueryResult } from 'kysely';

/** Stands for argument `index` (or its element `element`) while the query is built. */
class Placeholder {
  constructor(
    readonly index: number,
    readonly element?: number,
  ) {}
}

interface Shape {
  readonly sql: string;
  readonly query: CompiledQuery['query'];
  /** For each of the compiled query's parameters: a placeholder, or a constant the builder put in itself. */
  readonly parameters: readonly unknown[];
}

const MAX_SHAPES = 256;

/**
 * The SQL of every prepared statement, so a PostgreSQL connection can keep each one parsed and planned (a named
 * statement) instead of parsing it at every call. Bounded like the shapes.
 */
const preparedSql = new Map<string, string>();
const MAX_PREPARED_SQL = 2048;

/** The name a PostgreSQL connection may prepare this SQL under, if it is one of the prepared statements' SQL. */
export function preparedStatementName(sql: string): string | undefined {
  return preparedSql.get(sql);
}

/**
 * Makes a statement from a builder. `build` must depend only on its arguments, and use each argument that is not
 * `fixed` only as a value (compared, set or inserted), never to decide the query's form.
 */
export function prepared<D, A extends readonly unknown[], R>(
  build: (db: Kysely<D>, ...args: A) => Compilable<R>,
  options: { readonly fixed?: readonly number[] } = {},
): (db: Kysely<D>, ...args: A) => Promise<QueryResult<R>> {
  const shapes = new Map<string, Shape>();
  const fixed = new Set(options.fixed);
  return (db, ...args) => {
    let key = db.getExecutor().adapter.constructor.name;
    for (let i = 0; i < args.length; i++) {
      const arg = args[i];
      key += fixed.has(i) ? `,=${String(arg)}` : Array.isArray(arg) ? `,${arg.length}` : ',';
    }
    let compiled = shapes.get(key);
    if (!compiled) {
      const stand = args.map((arg, i) =>
        fixed.has(i) ? arg : Array.isArray(arg) ? arg.map((_, j) => new Placeholder(i, j)) : new Placeholder(i),
      ) as unknown as A;
      const query = build(db, ...stand).compile();
      compiled = { sql: query.sql, query: query.query, parameters: query.parameters };
      if (!preparedSql.has(query.sql) && preparedSql.size < MAX_PREPARED_SQL) {
        preparedSql.set(query.sql, `corral_${preparedSql.size}`);
      }
      if (shapes.size >= MAX_SHAPES) shapes.delete(shapes.keys().next().value!);
      shapes.set(key, compiled);
    }
    const parameters = compiled.parameters.map((p) => {
      if (!(p instanceof Placeholder)) return p;
      const arg = args[p.index];
      return p.element === undefined ? arg : (arg as readonly unknown[])[p.element];
    });
    return db.executeQuery<R>(CompiledQuery.raw(compiled.sql, parameters) as CompiledQuery<R>);
  };
}
