/**
 * @module Work announcements between server processes that share one PostgreSQL database.
 *
 * A worker long-polls the server it is connected to; when a job is submitted through another server, or a task
 * finishes there, this server must hear of it to answer within milliseconds rather than at the poll's end. Each
 * server LISTENs on one channel and NOTIFYs it when work may have appeared, tagged with its own id so it ignores its
 * own announcements. Announcements are coalesced (at most one per `intervalMs`), since a busy farm finishes hundreds
 * of tasks a second and one wake-up serves them all. SQLite needs none of this: one server owns the file.
 */
import { randomUUID } from 'node:crypto';
import { loadPg } from './database.js';

const CHANNEL = 'corral_work';

export interface Wakeups {
  /** Tells the other servers that work may have appeared. */
  announce(): void;
  close(): Promise<void>;
}

export interface PostgresWakeupsOptions {
  readonly url: string;
  /** Called when another server announced work. */
  readonly onWork: () => void;
  /** Called when the listening connection fails (it reconnects by itself). */
  readonly onError?: (error: Error) => void;
  /** Shortest time between two announcements. Default 10 ms. */
  readonly intervalMs?: number;
}

/** Listens for and sends work announcements over PostgreSQL's LISTEN/NOTIFY. */
export async function postgresWakeups(options: PostgresWakeupsOptions): Promise<Wakeups> {
  const { Client } = loadPg();
  const self = randomUUID();
  const intervalMs = options.intervalMs ?? 10;
  let closed = false;
  let listener: InstanceType<typeof Client> | undefined;
  let retry: NodeJS.Timeout | undefined;

  const connectListener = async () => {
    const client = new Client({ connectionString: options.url });
    client.on('notification', (message) => {
      if (message.payload !== self) options.onWork();
    });
    client.on('error', (error) => {
      options.onError?.(error);
      client.end().catch(() => {});
      if (listener === client) listener = undefined;
      if (!closed) retry = setTimeout(() => void connectListener().catch(() => {}), 1000);
    });
    await client.connect();
    await client.query(`LISTEN ${CHANNEL}`);
    if (closed) await client.end();
    else {
      listener = client;
      // Announcements missed while reconnecting: assume there was work.
      options.onWork();
    }
  };
  await connectListener();

  let timer: NodeJS.Timeout | undefined;
  let last = 0;
  let sending: Promise<InstanceType<typeof Client>> | undefined;
  const reset = (error: Error) => {
    options.onError?.(error);
    const dropped = sending;
    sending = undefined;
    dropped?.then((client) => client.end()).catch(() => {});
  };
  const senderClient = () => {
    sending ??= (async () => {
      const client = new Client({ connectionString: options.url });
      client.on('error', reset);
      await client.connect();
      return client;
    })();
    return sending;
  };
  // One NOTIFY at a time on the sender's connection (pg refuses overlapping queries on one client). A send queued
  // behind another runs after close() may have started: it must not open a connection nobody would end.
  let inFlight: Promise<unknown> = Promise.resolve();
  const send = () => {
    timer = undefined;
    last = Date.now();
    inFlight = inFlight
      .then(async () => {
        if (closed) return;
        const client = await senderClient();
        await client.query('SELECT pg_notify($1, $2)', [CHANNEL, self]);
      })
      .catch(reset);
  };

  return {
    announce() {
      if (closed || timer) return;
      const wait = last + intervalMs - Date.now();
      if (wait <= 0) send();
      else timer = setTimeout(send, wait);
    },
    async close() {
      closed = true;
      clearTimeout(timer);
      clearTimeout(retry);
      // Let a send under way finish (or its connection attempt settle), so its connection is the one ended below;
      // bounded, since a database that stopped answering must not hold up a server's shutdown.
      let bound: NodeJS.Timeout | undefined;
      await Promise.race([inFlight, new Promise((resolve) => (bound = setTimeout(resolve, 2000)))]);
      clearTimeout(bound);
      await Promise.all([listener?.end().catch(() => {}), sending?.then((client) => client.end()).catch(() => {})]);
    },
  };
}
