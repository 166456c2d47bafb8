/**
 * @module Who the dashboard talks to the API as. The token lives in sessionStorage only (gone when the tab closes,
 * never sent anywhere but the API's Authorization header). A link may carry it as `#token=…` (what `corral up`
 * prints): it is read once and removed from the address bar and history.
 */
import { computed, signal } from '@preact/signals';
import { type CorralClient, CorralError, createClient, FarmErrorCode } from '../../src/farm/client/index.js';

const KEY = 'corral.token';

function storedToken(): string | undefined {
  try {
    return sessionStorage.getItem(KEY) ?? undefined;
  } catch {
    return undefined;
  }
}

/** The token in use; `''` for a server without authentication; undefined when signed out. */
export const token = signal<string | undefined>(storedToken());

export const client = computed<CorralClient>(() =>
  createClient({ url: location.origin, ...(token.value ? { token: token.value } : {}) }),
);

export const signedIn = computed(() => token.value !== undefined);

function remember(value: string | undefined): void {
  try {
    if (value === undefined) sessionStorage.removeItem(KEY);
    else sessionStorage.setItem(KEY, value);
  } catch {
    // Storage refused (private mode): the token lasts as long as the page.
  }
  token.value = value;
}

/**
 * Tries a token against the server (an empty one for a server without authentication).
 * @throws {CorralError} the server's refusal (`CORRAL_E_UNAUTHORIZED`) or `CORRAL_E_SERVER_UNAVAILABLE`.
 */
export async function signIn(value: string): Promise<void> {
  const trial = createClient({ url: location.origin, ...(value ? { token: value } : {}) });
  await trial.totals();
  remember(value);
}

export function signOut(): void {
  remember(undefined);
}

/** An API error that means the token no longer works: sign out so the user is asked again. */
export function handleAuthError(error: unknown): boolean {
  if (error instanceof CorralError && error.code === FarmErrorCode.Unauthorized) {
    signOut();
    return true;
  }
  return false;
}

/** Takes a `#token=` from the address, or finds a server that needs none. Called once at start-up. */
export async function restoreSession(): Promise<void> {
  const match = /^#token=([^&]+)/.exec(location.hash);
  if (match) {
    history.replaceState(history.state, '', location.pathname + location.search);
    // Taken as it is, without a round trip first: the page's own requests check it, and a refused token signs out
    // (handleAuthError), which shows the sign-in page.
    remember(decodeURIComponent(match[1]!));
    return;
  }
  if (token.value !== undefined) return;
  try {
    // A server without authentication (a loopback-only farm configured so) needs no sign-in at all.
    if ((await createClient({ url: location.origin }).health()).auth === 'none') remember('');
  } catch {
    // Unreachable: the sign-in page says so when the user tries.
  }
}
