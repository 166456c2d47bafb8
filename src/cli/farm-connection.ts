/**
 * @module Which farm the farm commands talk to, and as whom.
 *
 * The server: `--server`, else `CORRAL_SERVER`, else the local server of the data directory (`server.json`, written
 * by `corral server` and `corral up` while they run), else `http://127.0.0.1:8470`. The token: `--token`, else
 * `CORRAL_TOKEN`, else the data directory's admin token (the farm owner's own machine).
 */
import { createClient } from '../farm/client/index.js';
import { DEFAULT_LISTEN, dataDirOf, dataFiles, readIfExists } from '../farm/data-dir.js';

export interface ConnectionOptions {
  readonly server?: string | undefined;
  readonly token?: string | undefined;
  readonly dataDir?: string | undefined;
  readonly env?: NodeJS.ProcessEnv;
}

export interface Connection {
  readonly url: string;
  readonly token: string | undefined;
}

export function resolveConnection(options: ConnectionOptions): Connection {
  const env = options.env ?? process.env;
  const files = dataFiles(dataDirOf({ dataDir: options.dataDir, env }));
  // An empty variable counts as unset.
  let url = options.server || env.CORRAL_SERVER;
  if (!url) {
    try {
      url = (JSON.parse(readIfExists(files.serverInfo) ?? '{}') as { url?: string }).url;
    } catch {}
  }
  url ??= `http://${DEFAULT_LISTEN}`;
  if (!/^https?:\/\//.test(url)) url = `http://${url}`;
  const token = options.token || env.CORRAL_TOKEN || readIfExists(files.adminToken)?.trim();
  return { url: url.replace(/\/+$/, ''), token: token || undefined };
}

export function connect(options: ConnectionOptions) {
  const { url, token } = resolveConnection(options);
  return createClient({ url, ...(token ? { token } : {}) });
}
