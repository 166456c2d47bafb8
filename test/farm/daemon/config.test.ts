/**
 * @module Tests of layered daemon configuration with real files: precedence, located problems, reloads.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  type ConfigSchema,
  configReference,
  type LoadConfigOptions,
  loadConfig,
  reloadConfig,
} from '../../../src/farm/daemon/config.js';
import { ConfigError, type ConfigProblem, DaemonErrorCode } from '../../../src/farm/daemon/errors.js';

const schema = {
  listen: { type: 'string', description: 'Address to listen on.', default: '127.0.0.1:8080', reloadable: false },
  db: { type: 'string', description: 'Database URL.', secret: true, reloadable: false },
  logLevel: {
    type: 'string',
    description: 'Log level.',
    values: ['debug', 'info', 'warn', 'error'],
    default: 'info',
  },
  heartbeat: { type: 'duration', description: 'Heartbeat interval.', default: '30s', min: 1000 },
  workers: { type: 'number', description: 'Worker threads.', integer: true, min: 1, max: 64, default: 4 },
  tls: { type: 'boolean', description: 'Serve HTTPS.', default: false },
  capabilities: { type: 'string[]', description: 'Capabilities.', values: ['gpu', 'cpu', 'big'] },
  tags: { type: 'string[]', description: 'Free tags.' },
  store: {
    poolSize: { type: 'number', description: 'Connections.', default: 10 },
    busyTimeout: { type: 'duration', description: 'SQLite busy timeout.' },
  },
} as const satisfies ConfigSchema;

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'corral-config-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

function problemsOf(options: LoadConfigOptions<typeof schema>): ConfigProblem[] {
  try {
    loadConfig(options);
  } catch (error) {
    assert.ok(error instanceof ConfigError, `a ConfigError, got ${error}`);
    assert.equal(error.code, DaemonErrorCode.ConfigInvalid);
    return [...error.problems];
  }
  assert.fail('expected a ConfigError');
}

describe('loadConfig', () => {
  it('should give the schema defaults, typed, when nothing is set', () => {
    const { config, origins, warnings } = loadConfig({ schema });
    // Compile-time checks of the inferred types.
    const listen: string = config.listen;
    const level: 'debug' | 'info' | 'warn' | 'error' = config.logLevel;
    const db: string | undefined = config.db;
    const poolSize: number = config.store.poolSize;
    assert.equal(listen, '127.0.0.1:8080');
    assert.equal(level, 'info');
    assert.equal(db, undefined);
    assert.equal(poolSize, 10);
    assert.equal(config.heartbeat, 30_000);
    assert.equal(config.tls, false);
    assert.equal(config.store.busyTimeout, undefined);
    assert.deepEqual(origins.get('listen'), { source: 'default', name: 'defaults' });
    assert.equal(origins.has('db'), false);
    assert.deepEqual(warnings, []);
    assert.ok(Object.isFrozen(config) && Object.isFrozen(config.store));
  });

  it('should layer defaults < file < environment < flags, per key, nested keys included', () => {
    const path = file(
      'layers.yaml',
      [
        'listen: 0.0.0.0:9000',
        'logLevel: warn',
        'heartbeat: 5m',
        'workers: 8',
        'tls: true',
        'capabilities: [gpu, cpu]',
        'store:',
        '  poolSize: 3',
        '  busyTimeout: 2',
        '',
      ].join('\n'),
    );
    const { config, origins } = loadConfig({
      schema,
      defaults: { workers: 2, store: { poolSize: 1 } },
      file: path,
      env: {
        CORRAL_LOG_LEVEL: 'debug',
        CORRAL_HEARTBEAT: '90s',
        CORRAL_STORE__POOL_SIZE: '5',
        CORRAL_DB: 'postgres://u:secret@db/corral',
        CORRAL_TAGS: ' a, b ,,c ',
        PATH: '/usr/bin',
      },
      flags: { logLevel: 'error', 'store.poolSize': '7', tls: false, listen: undefined },
    });
    assert.deepEqual(
      { ...config, store: { ...config.store } },
      {
        listen: '0.0.0.0:9000',
        db: 'postgres://u:secret@db/corral',
        logLevel: 'error',
        heartbeat: 90_000,
        workers: 8,
        tls: false,
        capabilities: ['gpu', 'cpu'],
        tags: ['a', 'b', 'c'],
        store: { poolSize: 7, busyTimeout: 2000 },
      },
    );
    assert.deepEqual(origins.get('listen'), { source: 'file', name: path });
    assert.deepEqual(origins.get('heartbeat'), { source: 'env', name: 'CORRAL_HEARTBEAT' });
    assert.deepEqual(origins.get('logLevel'), { source: 'flag', name: '--log-level' });
    assert.deepEqual(origins.get('store.poolSize'), { source: 'flag', name: '--store.pool-size' });
    assert.deepEqual(origins.get('store.busyTimeout'), { source: 'file', name: path });

    // Without the flags and the environment, the file wins over the defaults given to loadConfig.
    const fileOnly = loadConfig({ schema, defaults: { workers: 2, store: { poolSize: 1 } }, file: path });
    assert.equal(fileOnly.config.store.poolSize, 3);
    assert.equal(loadConfig({ schema, defaults: { workers: 2 } }).config.workers, 2);
  });

  it('should read a JSON file by its extension, and an empty file as nothing set', () => {
    const json = file('config.json', '{ "listen": "[::1]:8081", "store": { "poolSize": 2.0 } }');
    const { config } = loadConfig({ schema, file: json });
    assert.equal(config.listen, '[::1]:8081');
    assert.equal(config.store.poolSize, 2);
    assert.equal(loadConfig({ schema, file: file('empty.yaml', '# nothing yet\n') }).config.listen, '127.0.0.1:8080');
  });

  it("should report every problem at once, each with the file's line:col or the variable or flag that set it", () => {
    const path = file(
      'bad.yaml',
      [
        'listen: 8080', // 1: a number for a string
        'logLevl: debug', // 2: unknown key, near logLevel
        'heartbeat: soon', // 3: not a duration
        'store:', // 4
        '  poolSise: 4', // 5: unknown nested key
        '  busyTimeout: [1]', // 6: a list for a duration
        'workers: 2.5', // 7: not an integer
        'capabilities: gpu', // 8: not a list
        '',
      ].join('\n'),
    );
    const problems = problemsOf({
      schema,
      file: path,
      env: { CORRAL_WORKERS: 'many', CORRAL_TLS: 'perhaps', CORRAL_CAPABILITIES: 'gpu,tpu' },
      flags: { logLvl: 'info', heartbeat: '10ms', 'log-level': 'verbose' },
    });
    const lines = problems.map((p) => `${p.source} ${p.origin} [${p.key}] ${p.message}`);
    assert.deepEqual(lines, [
      `file ${path}:1:9 [listen] expected a string, got a number (8080); quote it to make it a string`,
      `file ${path}:2:1 [logLevl] unknown key (did you mean logLevel?); known keys: listen, db, logLevel, heartbeat, workers, tls, capabilities, tags, store`,
      `file ${path}:3:12 [heartbeat] "soon" is not a valid duration: cannot read 'soon' (write e.g. 250ms, 60s, 5m, 1h, 1h30m, or seconds as a plain number).`,
      `file ${path}:5:3 [store.poolSise] unknown key in store (did you mean poolSize?); known keys: poolSize, busyTimeout`,
      `file ${path}:6:16 [store.busyTimeout] expected a duration (250ms, 60s, 5m, 1h) or a number of seconds, got a list`,
      `file ${path}:7:10 [workers] 2.5 is not a whole number`,
      `file ${path}:8:15 [capabilities] expected a list of strings, got a string ("gpu"); write a list: ["gpu"]`,
      `env CORRAL_CAPABILITIES [capabilities] "tpu" is not allowed (did you mean "gpu"?); allowed: gpu, cpu, big`,
      'env CORRAL_TLS [tls] "perhaps" is not a boolean (true/false, 1/0, yes/no, on/off)',
      'env CORRAL_WORKERS [workers] "many" is not a number',
      'flag --log-lvl [logLvl] is not a configuration flag (did you mean --log-level?)',
      'flag --heartbeat [heartbeat] 10ms is less than the minimum 1000ms',
      'flag --log-level [logLevel] "verbose" is not allowed; allowed: debug, info, warn, error',
    ]);
  });

  it('should format the error message with one line per problem', () => {
    const path = file('one.yaml', 'tls: yes please\n');
    assert.throws(
      () => loadConfig({ schema, file: path, flags: { workers: '0' } }),
      (error: unknown) =>
        error instanceof ConfigError &&
        error.message ===
          [
            'The configuration has 2 problems:',
            `  - ${path}:1:6 tls: expected a boolean (true or false), got a string ("yes please")`,
            '  - --workers: 0 is less than the minimum 1',
          ].join('\n'),
    );
  });

  it('should report malformed files, missing files and non-mapping documents with their position', () => {
    const broken = file('broken.yaml', 'listen: a\n  bad: indent\n');
    const [syntax] = problemsOf({ schema, file: broken });
    assert.equal(syntax!.source, 'file');
    assert.match(syntax!.origin, new RegExp(`^${broken}:2:\\d+$`));
    assert.match(syntax!.message, /^not well-formed: YAML:/);

    const duplicate = file('duplicate.json', '{ "tls": true,\n  "tls": false }');
    assert.match(problemsOf({ schema, file: duplicate })[0]!.origin, new RegExp(`^${duplicate}:2:3$`));

    const missing = join(dir, 'missing.yaml');
    assert.deepEqual(problemsOf({ schema, file: missing }), [
      {
        key: '',
        source: 'file',
        origin: missing,
        message: 'cannot read the configuration file: the file does not exist',
      },
    ]);
    assert.deepEqual(problemsOf({ schema, file: dir }), [
      { key: '', source: 'file', origin: dir, message: 'cannot read the configuration file: it is a directory' },
    ]);
    const list = file('list.yaml', '- listen\n');
    assert.deepEqual(problemsOf({ schema, file: list }), [
      {
        key: '',
        source: 'file',
        origin: `${list}:1:1`,
        message: 'the configuration must be a mapping of keys to values',
      },
    ]);
    const section = file('section.yaml', 'store: 5\n');
    assert.equal(
      problemsOf({ schema, file: section })[0]!.message,
      'is a section: expected a mapping of its keys (poolSize, busyTimeout), got a number (5)',
    );
  });

  it('should warn about unknown CORRAL_* variables, or refuse them when strictEnv is set', () => {
    const env = { CORRAL_LOG_LEVL: 'debug', CORRAL_STORE: 'x', CORRAL_CONFIG: '/etc/corral.yaml', HOME: '/root' };
    const { warnings } = loadConfig({ schema, env, ignoreEnv: ['CORRAL_CONFIG'] });
    assert.deepEqual(warnings, [
      'CORRAL_LOG_LEVL matches no configuration key (did you mean CORRAL_LOG_LEVEL?); it is ignored',
      'CORRAL_STORE is a section, not a key; set its keys (CORRAL_STORE__…); it is ignored',
    ]);
    const problems = problemsOf({ schema, env, strictEnv: true });
    assert.deepEqual(
      problems.map((p) => p.origin),
      ['CORRAL_CONFIG', 'CORRAL_LOG_LEVL', 'CORRAL_STORE'],
    );
  });

  it('should treat empty variables as unset, except that a list becomes empty', () => {
    const { config } = loadConfig({
      schema,
      env: { CORRAL_LISTEN: '', CORRAL_TAGS: '' },
      file: file('t.yaml', 'tags: [x]'),
    });
    assert.equal(config.listen, '127.0.0.1:8080');
    assert.deepEqual(config.tags, []);
  });

  it('should never echo a secret value', () => {
    const path = file('secret.yaml', 'db: 12345\n');
    const problems = problemsOf({ schema, file: path });
    assert.equal(problems[0]!.message, 'expected a string, got a number; quote it to make it a string');
    assert.doesNotMatch(JSON.stringify(problems), /12345/);
  });

  it('should report required keys that no layer sets, naming the three ways to set them', () => {
    const required = {
      server: { type: 'string', description: 'Server URL.', required: true },
      nested: { token: { type: 'string', description: 'Token.', required: true, env: 'CORRAL_WORKER_TOKEN' } },
    } as const satisfies ConfigSchema;
    const loaded = loadConfig({
      schema: required,
      env: { CORRAL_SERVER: 'http://farm:8080', CORRAL_WORKER_TOKEN: 't' },
    });
    const server: string = loaded.config.server;
    assert.equal(server, 'http://farm:8080');
    assert.equal(loaded.config.nested.token, 't');
    assert.throws(
      () => loadConfig({ schema: required, env: {} }),
      (error: unknown) =>
        error instanceof ConfigError &&
        error.message.includes(
          '  - server: is required: set it in the configuration file, with CORRAL_SERVER or with --server',
        ) &&
        error.message.includes(
          '  - nested.token: is required: set it in the configuration file, with CORRAL_WORKER_TOKEN',
        ),
    );
  });

  it('should accept lists of flags for list keys and refuse repeated scalar flags', () => {
    const { config } = loadConfig({ schema, flags: { capabilities: ['gpu', 'cpu,big'] } });
    assert.deepEqual(config.capabilities, ['gpu', 'cpu', 'big']);
    const [repeated, valueless] = problemsOf({ schema, flags: { listen: ['a', 'b'], workers: true } });
    assert.equal(repeated!.message, 'was given 2 times; give it once');
    assert.equal(valueless!.message, 'needs a value (a number)');
  });

  it('should describe every key for --help', () => {
    const rows = configReference({ schema, defaults: { workers: 2 } });
    assert.deepEqual(rows[0], {
      key: 'listen',
      type: 'string',
      env: 'CORRAL_LISTEN',
      flag: '--listen',
      description: 'Address to listen on.',
      default: '127.0.0.1:8080',
      required: false,
      reloadable: false,
    });
    assert.equal(rows.find((r) => r.key === 'workers')!.default, 2);
    assert.deepEqual(
      rows.filter((r) => r.key.startsWith('store.')).map((r) => [r.env, r.flag]),
      [
        ['CORRAL_STORE__POOL_SIZE', '--store.pool-size'],
        ['CORRAL_STORE__BUSY_TIMEOUT', '--store.busy-timeout'],
      ],
    );
  });
});

describe('reloadConfig', () => {
  it('should apply reloadable changes, keep restart-only keys, and report both', () => {
    const path = file('reload.yaml', 'listen: 127.0.0.1:8080\nlogLevel: info\ndb: sqlite:a.db\n');
    const options = { schema, file: path, env: { CORRAL_WORKERS: '3' } };
    const current = loadConfig(options);
    writeFileSync(path, 'listen: 0.0.0.0:80\nlogLevel: debug\ndb: sqlite:a.db\nheartbeat: 10s\n');
    const result = reloadConfig({ ...options, current });
    assert.ok(result.ok);
    assert.deepEqual(result.changed, ['logLevel', 'heartbeat']);
    assert.deepEqual(result.restartRequired, ['listen']);
    assert.equal(result.loaded.config.logLevel, 'debug');
    assert.equal(result.loaded.config.heartbeat, 10_000);
    assert.equal(result.loaded.config.listen, '127.0.0.1:8080', 'the running value is kept');
    assert.equal(result.loaded.config.workers, 3, 'the environment still applies');
    assert.ok(Object.isFrozen(result.loaded.config));
  });

  it('should keep the running configuration when the new file is bad or gone', () => {
    const path = file('reload-bad.yaml', 'logLevel: warn\n');
    const options = { schema, file: path };
    const current = loadConfig(options);
    writeFileSync(path, 'logLevel: warn\nworkers: -1\n');
    const bad = reloadConfig({ ...options, current });
    assert.equal(bad.ok, false);
    assert.ok(!bad.ok);
    assert.equal(bad.loaded, current);
    assert.equal(bad.error.code, DaemonErrorCode.ConfigInvalid);
    assert.match(bad.error.message, new RegExp(`${path}:2:10 workers: -1 is less than the minimum 1`));

    writeFileSync(path, 'logLevel: [\n');
    const malformed = reloadConfig({ ...options, current });
    assert.ok(!malformed.ok && malformed.loaded === current);

    rmSync(path);
    const gone = reloadConfig({ ...options, current });
    assert.ok(!gone.ok && gone.loaded.config.logLevel === 'warn');
  });
});
