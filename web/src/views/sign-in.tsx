/** @module Sign-in: a token pasted once per browser session. */
import { useState } from 'preact/hooks';
import { messageOf } from '../notices.js';
import { signIn } from '../session.js';

export function SignInView() {
  const [value, setValue] = useState('');
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      await signIn(value.trim());
    } catch (e) {
      setError(messageOf(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="sign-in">
      <form onSubmit={submit} aria-labelledby="sign-in-title">
        <h1 id="sign-in-title">
          <img src="/favicon.svg" alt="" width="28" height="28" /> Corral
        </h1>
        {/* For password managers: a token has no user name, but they expect one beside a password field. */}
        <input type="text" name="username" autoComplete="username" value="corral" hidden readOnly />
        <label for="token">Access token</label>
        <input
          id="token"
          type="password"
          autoComplete="current-password"
          value={value}
          onInput={(e) => setValue(e.currentTarget.value)}
          aria-describedby="token-help"
          aria-invalid={error ? true : undefined}
          required
          // biome-ignore lint/a11y/noAutofocus: the page has this one field; typing the token is all there is to do
          autoFocus
        />
        <p id="token-help" class="hint">
          A user or admin token (<code>corral tokens create NAME</code>); a local farm's admin token is in its data
          directory. It is kept for this browser tab only.
        </p>
        {error ? (
          <p class="error" role="alert">
            {error}
          </p>
        ) : null}
        <button type="submit" class="primary" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}
