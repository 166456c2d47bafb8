/** @module Short messages after an action (done, or why it failed), shown in one polite live region. */
import { signal } from '@preact/signals';
import { CorralError } from '../../src/farm/client/index.js';
import { handleAuthError } from './session.js';

export interface Notice {
  readonly id: number;
  readonly kind: 'ok' | 'error';
  readonly text: string;
}

export const notices = signal<readonly Notice[]>([]);
let nextId = 1;

export function notify(kind: Notice['kind'], text: string): void {
  const notice = { id: nextId++, kind, text };
  notices.value = [...notices.value.slice(-3), notice];
  setTimeout(() => dismiss(notice.id), kind === 'error' ? 10_000 : 4000);
}

export function dismiss(id: number): void {
  notices.value = notices.value.filter((n) => n.id !== id);
}

/** What an error says to a user: the server's own message for API errors. */
export function messageOf(error: unknown): string {
  if (error instanceof CorralError) return error.message;
  return error instanceof Error ? error.message : String(error);
}

/** Reports a failed request (signing out when the token stopped working). */
export function reportError(error: unknown, what?: string): void {
  if (handleAuthError(error)) return;
  notify('error', what ? `${what}: ${messageOf(error)}` : messageOf(error));
}
