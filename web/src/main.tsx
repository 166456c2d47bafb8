/** @module The dashboard's entry: restores the session, starts the router and renders the app. */
import { render } from 'preact';
import { App } from './app.js';
import { startRouter } from './router.js';
import { restoreSession } from './session.js';
import './styles.css';

startRouter();
await restoreSession();
render(<App />, document.getElementById('app')!);
