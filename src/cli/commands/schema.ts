/**
 * @module `corral schema [--version V]`: prints the JSON Schema of job or environment templates.
 */
import { type TemplateSchemaVersion, templateJsonSchema } from '../../model/json-schema.js';
import { ExitCode } from '../main.js';
import { type OutputFormat, printStructured, stdout } from '../output.js';

export async function runSchema(options: { version: TemplateSchemaVersion; output: OutputFormat }): Promise<number> {
  const schema = templateJsonSchema({ version: options.version });
  if (options.output === 'yaml') printStructured('yaml', schema);
  else stdout(`${JSON.stringify(schema, null, 2)}\n`);
  return ExitCode.Ok;
}
