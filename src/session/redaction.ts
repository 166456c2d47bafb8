/**
 * @module Redaction of secrets announced with `openjd_redacted_env`: their values are replaced in the line that
 * announced them and in all later output of the session, whether or not the template declared REDACTED_ENV_VARS.
 */

/** The fixed replacement; its length says nothing about the secret's. */
export const REDACTED = '********';

export class Redactor {
  #values: string[] = [];

  /** Registers a secret. Multi-line values are redacted line by line, as output arrives in lines. */
  add(value: string): void {
    const pieces = value.split(/\r?\n/).filter((piece) => piece.length > 0);
    for (const piece of pieces) if (!this.#values.includes(piece)) this.#values.push(piece);
    // Longest first, so a secret containing a shorter one is replaced whole.
    this.#values.sort((a, b) => b.length - a.length);
  }

  get active(): boolean {
    return this.#values.length > 0;
  }

  /** The line with every known secret replaced. */
  redact(line: string): string {
    let out = line;
    for (const value of this.#values) if (out.includes(value)) out = out.split(value).join(REDACTED);
    return out;
  }
}
