/**
 * @module JSON Schemas (draft 2020-12) of the OpenJD templates, generated from the same definitions that validate
 * them, for editors that complete and check templates as they are typed.
 */
import type { JsonSchemaContext } from './schema/core.js';
import { environmentTemplateSchema, jobTemplateSchema } from './schema/templates.js';
import { type ENVIRONMENT_TEMPLATE_VERSION, JOB_TEMPLATE_VERSION } from './types.js';

export type TemplateSchemaVersion = typeof JOB_TEMPLATE_VERSION | typeof ENVIRONMENT_TEMPLATE_VERSION;

/**
 * Returns the JSON Schema of a template kind. Limits are those of FEATURE_BUNDLE_1 (the most permissive);
 * `corral check` applies the exact rules, including those no JSON Schema can express.
 */
export function templateJsonSchema(options: { version: TemplateSchemaVersion }): Record<string, unknown> {
  const context: JsonSchemaContext = { defs: {} };
  const isJob = options.version === JOB_TEMPLATE_VERSION;
  const root = (isJob ? jobTemplateSchema : environmentTemplateSchema).jsonSchema(context);
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: `urn:corral:schema:${options.version}`,
    title: isJob ? 'OpenJD job template (jobtemplate-2023-09)' : 'OpenJD environment template (environment-2023-09)',
    ...root,
    $defs: context.defs,
  };
}
