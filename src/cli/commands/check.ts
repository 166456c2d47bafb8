/**
 * @module `corral check <template>`: validates a job or environment template and reports every problem with its
 * line:col. Same inputs and meaning as `openjd check`.
 */
import { decodeTemplate } from '../../model/decode.js';
import { formatOf, readUserFile } from '../files.js';
import { ExitCode } from '../main.js';
import { type OutputFormat, printError, printStructured, stdout } from '../output.js';

export interface CheckOptions {
  readonly template: string;
  readonly extensions?: string;
  readonly output: OutputFormat;
}

export async function runCheck(options: CheckOptions): Promise<number> {
  const { template, output } = options;
  try {
    const text = readUserFile(template, 'template');
    const format = formatOf(template);
    const decoded = decodeTemplate({
      text,
      source: template,
      ...(format ? { format } : {}),
      ...(options.extensions !== undefined ? { extensions: options.extensions.split(',') } : {}),
    });
    const message = `Template at '${template}' passes validation checks.`;
    if (output === 'human-readable') stdout(`${message}\n`);
    else printStructured(output, { status: 'success', message, kind: decoded.kind });
    return ExitCode.Ok;
  } catch (error) {
    printError(output, error);
    return ExitCode.Failed;
  }
}
