/**
 * @module Combination expressions (`A * (B, C)`): how a step's task parameters combine into its parameter space.
 *
 * `parseCombinationExpr` checks the syntax only; `checkCombinationExpr` checks the tree against the step's task
 * parameters (every one used exactly once, equal lengths inside `( … )`, the chunked parameter outside them).
 */

import { ExpressionError, ModelErrorCode } from './errors.js';

/** Longest combination expression the spec allows, in characters. */
export const MAX_COMBINATION_EXPR_LENGTH = 1280;

/**
 * A parsed combination expression. `offset` is the 0-based position in the text; for a product or zip, `end` is the
 * position just after it (a zip's span includes its parentheses). Products are flattened (`(A * B) * C` is one
 * product of three factors) and a parenthesised single expression is that expression itself.
 */
export type CombinationNode =
  | { readonly kind: 'name'; readonly name: string; readonly offset: number }
  | {
      readonly kind: 'product';
      readonly factors: readonly CombinationNode[];
      readonly offset: number;
      readonly end: number;
    }
  | {
      readonly kind: 'zip';
      readonly members: readonly CombinationNode[];
      readonly offset: number;
      readonly end: number;
    };

type TokenKind = 'name' | '*' | '(' | ')' | ',' | 'end';

interface Token {
  readonly kind: TokenKind;
  readonly text: string;
  readonly offset: number;
}

function combinationError(reason: string, text: string, offset?: number): ExpressionError {
  return new ExpressionError(ModelErrorCode.CombinationExprInvalid, reason, text, offset);
}

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === ' ') {
      i++;
    } else if (c === '*' || c === '(' || c === ')' || c === ',') {
      tokens.push({ kind: c, text: c, offset: i });
      i++;
    } else if (/[A-Za-z0-9_]/.test(c)) {
      const start = i;
      while (i < text.length && /[A-Za-z0-9_]/.test(text[i]!)) i++;
      const name = text.slice(start, i);
      if (/^[0-9]/.test(name)) throw combinationError(`'${name}' is not a parameter name`, text, start);
      tokens.push({ kind: 'name', text: name, offset: start });
    } else {
      const shown = c === '\t' ? '\\t' : c === '\n' ? '\\n' : c;
      throw combinationError(`character '${shown}' is not allowed in a combination expression`, text, i);
    }
  }
  tokens.push({ kind: 'end', text: '', offset: text.length });
  return tokens;
}

class CombinationParser {
  private readonly tokens: Token[];
  private index = 0;

  constructor(private readonly text: string) {
    this.tokens = tokenize(text);
  }

  parse(): CombinationNode {
    const node = this.expression();
    const token = this.peek();
    if (token.kind !== 'end') this.unexpectedAfterExpression(token);
    return node;
  }

  private peek(): Token {
    return this.tokens[this.index]!;
  }

  private previous(): Token | undefined {
    return this.tokens[this.index - 1];
  }

  /** `Expr ::= Expr '*' Element | Element` */
  private expression(): CombinationNode {
    const first = this.element();
    const factors: CombinationNode[] = [];
    const add = (node: CombinationNode): void => {
      if (node.kind === 'product') factors.push(...node.factors);
      else factors.push(node);
    };
    add(first);
    let end = nodeEnd(first);
    while (this.peek().kind === '*') {
      this.index++;
      const next = this.element();
      add(next);
      end = nodeEnd(next);
    }
    if (factors.length === 1) return first;
    return { kind: 'product', factors, offset: first.offset, end };
  }

  /** `Element ::= '(' ExprList ')' | Identifier` */
  private element(): CombinationNode {
    const token = this.peek();
    if (token.kind === 'name') {
      this.index++;
      return { kind: 'name', name: token.text, offset: token.offset };
    }
    if (token.kind === '(') {
      this.index++;
      const members = [this.expression()];
      while (this.peek().kind === ',') {
        this.index++;
        members.push(this.expression());
      }
      const close = this.peek();
      if (close.kind !== ')') {
        if (close.kind === 'end') throw combinationError("'(' is never closed", this.text, token.offset);
        this.unexpectedAfterExpression(close);
      }
      this.index++;
      if (members.length === 1) return members[0]!;
      return { kind: 'zip', members, offset: token.offset, end: close.offset + 1 };
    }
    throw this.missingElement(token);
  }

  /** The error for a token where a parameter name or '(' was needed. */
  private missingElement(token: Token): ExpressionError {
    const before = this.previous();
    const text = this.text;
    if (token.kind === 'end') {
      if (before === undefined) return combinationError('combination expression is empty', text, 0);
      if (before.kind === '(') return combinationError("'(' is never closed", text, before.offset);
      if (before.kind === '*') return combinationError("expression cannot end with '*'", text, before.offset);
      return combinationError(`expected a parameter name after '${before.text}'`, text, token.offset);
    }
    if (token.kind === '*') {
      if (before === undefined) return combinationError("expression cannot start with '*'", text, token.offset);
      if (before.kind === '*') return combinationError("two '*' operators in a row", text, token.offset);
      return combinationError(`expected a parameter name before '*'`, text, token.offset);
    }
    if (token.kind === ')' && before?.kind === '(') {
      return combinationError("empty parentheses '()'", text, before.offset);
    }
    if (token.kind === ')' && before === undefined) return combinationError("unbalanced ')'", text, token.offset);
    if (before === undefined)
      return combinationError(`expression cannot start with '${token.text}'`, text, token.offset);
    return combinationError(`expected a parameter name after '${before.text}'`, text, token.offset);
  }

  /** The error for a token that follows a complete expression but cannot continue it. */
  private unexpectedAfterExpression(token: Token): never {
    const text = this.text;
    if (token.kind === ')') throw combinationError("unbalanced ')'", text, token.offset);
    if (token.kind === ',') throw combinationError("',' is only allowed inside parentheses", text, token.offset);
    const before = this.previous()!;
    throw combinationError(`missing '*' between '${before.text}' and '${token.text}'`, text, token.offset);
  }
}

function nodeEnd(node: CombinationNode): number {
  return node.kind === 'name' ? node.offset + node.name.length : node.end;
}

/**
 * Parses a combination expression (`A * (B, C)`): syntax only, names are not checked.
 *
 * Grammar: `Expr ::= Expr '*' Element | Element`, `Element ::= '(' ExprList ')' | Identifier`,
 * `ExprList ::= ExprList ',' Expr | Expr`; spaces may separate tokens.
 *
 * @throws ExpressionError with code `CORRAL_E_COMBINATION_EXPR` (empty, too long, disallowed character, missing or
 *   doubled operator, unbalanced or empty parentheses), with the 0-based offset of the problem.
 */
export function parseCombinationExpr(text: string): CombinationNode {
  if (text.length > MAX_COMBINATION_EXPR_LENGTH) {
    throw combinationError(
      `combination expression is too long (${text.length} characters; the limit is ${MAX_COMBINATION_EXPR_LENGTH})`,
      text,
      MAX_COMBINATION_EXPR_LENGTH,
    );
  }
  if (/^ *$/.test(text)) throw combinationError('combination expression is empty', text, 0);
  return new CombinationParser(text).parse();
}

/** Options of {@link checkCombinationExpr}. */
export interface CheckCombinationOptions {
  /** The expression's text, for error messages. */
  readonly text: string;
  /** Every task parameter of the step, with its number of values. */
  readonly lengths: ReadonlyMap<string, number>;
  /** The name of the step's `CHUNK[INT]` parameter, if it has one. */
  readonly chunked?: string | undefined;
}

/**
 * Checks a parsed combination against a step's task parameters: every name is a defined parameter, each parameter
 * appears exactly once and every parameter appears, the members of each `( … )` have the same number of values
 * (a product has the product of its factors' counts), the space has at most 2^53 − 1 tasks, and the chunked
 * parameter is not inside `( … )`.
 *
 * @throws ExpressionError with code `CORRAL_E_COMBINATION_EXPR`.
 */
export function checkCombinationExpr(node: CombinationNode, options: CheckCombinationOptions): void {
  const { text, lengths, chunked } = options;
  const seen = new Set<string>();
  let chunkedInZip: { offset: number } | undefined;

  const visit = (n: CombinationNode, inZip: boolean): void => {
    if (n.kind === 'name') {
      if (!lengths.has(n.name)) throw combinationError(`unknown task parameter '${n.name}'`, text, n.offset);
      if (seen.has(n.name)) {
        throw combinationError(`task parameter '${n.name}' appears more than once`, text, n.offset);
      }
      seen.add(n.name);
      if (inZip && n.name === chunked && chunkedInZip === undefined) chunkedInZip = { offset: n.offset };
      return;
    }
    const children = n.kind === 'product' ? n.factors : n.members;
    for (const child of children) visit(child, inZip || n.kind === 'zip');
  };
  visit(node, false);

  const missing = [...lengths.keys()].filter((name) => !seen.has(name));
  if (missing.length > 0) {
    const list = missing.map((name) => `'${name}'`).join(', ');
    throw combinationError(
      missing.length === 1
        ? `task parameter ${list} is missing from the combination`
        : `task parameters ${list} are missing from the combination`,
      text,
    );
  }
  if (chunkedInZip !== undefined) {
    throw combinationError(
      `CHUNK[INT] parameter '${chunked}' cannot be inside '( … )'; combine it with '*'`,
      text,
      chunkedInZip.offset,
    );
  }
  combinationLength(node, text, lengths);
}

/**
 * The number of tasks a checked combination node produces: a parameter's count, a product's product, a zip's
 * common length.
 *
 * @throws ExpressionError with code `CORRAL_E_COMBINATION_EXPR` on a zip length mismatch or more than 2^53 − 1 tasks.
 */
export function combinationLength(node: CombinationNode, text: string, lengths: ReadonlyMap<string, number>): number {
  if (node.kind === 'name') {
    const length = lengths.get(node.name);
    if (length === undefined) throw combinationError(`unknown task parameter '${node.name}'`, text, node.offset);
    return length;
  }
  if (node.kind === 'product') {
    let total = 1;
    for (const factor of node.factors) {
      total *= combinationLength(factor, text, lengths);
      if (total > Number.MAX_SAFE_INTEGER) {
        throw combinationError(
          `'${text.slice(node.offset, node.end)}' has too many tasks (more than ${Number.MAX_SAFE_INTEGER})`,
          text,
          node.offset,
        );
      }
    }
    return total;
  }
  const memberLengths = node.members.map((member) => combinationLength(member, text, lengths));
  if (memberLengths.some((length) => length !== memberLengths[0])) {
    const detail = node.members
      .map((member, i) => `${text.slice(member.offset, nodeEnd(member))} has ${memberLengths[i]}`)
      .join(', ');
    throw combinationError(
      `'${text.slice(node.offset, node.end)}' combines parameters with different numbers of values: ${detail}`,
      text,
      node.offset,
    );
  }
  return memberLengths[0]!;
}
