import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

import { z } from 'zod';

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;

// A pattern is "/" or "/"-separated segments, each either ":name" or a literal of unreserved
// characters other than the dot segments "." and "..".
function isPathPattern(pattern: string): boolean {
  if (pattern === '/') return true;
  if (!pattern.startsWith('/')) return false;
  return pattern
    .slice(1)
    .split('/')
    .every(
      (segment) =>
        /^:[A-Za-z][A-Za-z0-9_]*$/.test(segment) ||
        (/^[A-Za-z0-9._~-]+$/.test(segment) && segment !== '.' && segment !== '..'),
    );
}

const routeSchema = z
  .object({
    method: z.enum(METHODS),
    /** Path pattern: literal segments and `:name` segments, e.g. `/api/accounts/:id`. */
    path: z.string().refine(isPathPattern, 'must be a path pattern such as /api/accounts/:id'),
    service: z.string().min(1),
    /** Permission the session must carry; the service makes the finer decisions. */
    permission: z.string().min(1),
  })
  .strict();

const serviceSchema = z
  .object({
    /** Upstream origin, e.g. `http://127.0.0.1:8081`. */
    url: z.url({ protocol: /^https?$/ }),
    /** Key id of the hop key shared with this service. */
    hopKeyId: z.string().min(1),
  })
  .strict();

/** The configuration schema; every field has a safe default except what a deployment must name. */
export const configSchema = z
  .object({
    mode: z.enum(['development', 'production']).default('development'),
    listen: z
      .object({
        host: z.string().default('127.0.0.1'),
        port: z.number().int().min(0).max(65535).default(8080),
      })
      .strict()
      .prefault({}),
    /** Origins clients use to reach the gateway; the signed `@authority` must be one of them. */
    publicOrigins: z.array(z.url({ protocol: /^https?$/ })).optional(),
    /** Peer addresses whose `X-Forwarded-Host` and `X-Forwarded-Proto` are believed. */
    trustedProxies: z.array(z.string()).default([]),
    keysFile: z.string().default('var/keys.json'),
    dataDir: z.string().default('var'),
    tokenTtlSeconds: z.number().int().min(30).max(3600).default(300),
    /** How long after its expiry a token may still be refreshed: the idle timeout. */
    refreshGraceSeconds: z
      .number()
      .int()
      .min(0)
      .max(24 * 3600)
      .default(15 * 60),
    sessionTtlSeconds: z
      .number()
      .int()
      .min(60)
      .max(7 * 24 * 3600)
      .default(8 * 3600),
    signature: z
      .object({
        maxAgeSeconds: z.number().int().min(1).max(300).default(30),
        maxFutureSeconds: z.number().int().min(0).max(60).default(5),
        maxValiditySeconds: z.number().int().min(1).max(300).default(60),
      })
      .strict()
      .prefault({}),
    bodyLimitBytes: z
      .number()
      .int()
      .min(0)
      .max(64 * 1024 * 1024)
      .default(1024 * 1024),
    upstreamTimeoutMs: z.number().int().min(100).max(120_000).default(10_000),
    replay: z
      .object({ maxEntries: z.number().int().min(1000).default(1_000_000) })
      .strict()
      .prefault({}),
    /**
     * Login attempt limits, per account and per client address. An attempt counts from the
     * moment it arrives; a successful login gives it back, so the counts are failed (or still
     * running) attempts. One more attempt than the limit locks the account or address out.
     */
    login: z
      .object({
        maxFailures: z.number().int().min(1).default(5),
        maxFailuresPerAddress: z.number().int().min(1).default(50),
        windowSeconds: z.number().int().min(1).default(300),
        lockoutSeconds: z.number().int().min(1).default(300),
      })
      .strict()
      .prefault({}),
    /** Signed requests one session may make per window; 0 turns the limit off. */
    sessionRateLimit: z
      .object({
        maxRequests: z.number().int().min(0).default(600),
        windowSeconds: z.number().int().min(1).max(3600).default(60),
      })
      .strict()
      .prefault({}),
    /** Signed audit checkpoints: after this many entries, or once the oldest unsigned is this old. */
    audit: z
      .object({
        checkpointEvery: z.number().int().min(1).default(100),
        checkpointIntervalSeconds: z.number().int().min(1).max(86_400).default(60),
      })
      .strict()
      .prefault({}),
    /**
     * Timeouts of the scale-out stores, used when `REDIS_URL` or `DATABASE_URL` selects them.
     * The URLs themselves come from the environment only, so no password sits in this file.
     */
    stores: z
      .object({
        redis: z
          .object({
            commandTimeoutMs: z.number().int().min(10).max(60_000).default(1000),
            connectTimeoutMs: z.number().int().min(10).max(60_000).default(2000),
            keyPrefix: z.string().default('rampart:'),
          })
          .strict()
          .prefault({}),
        postgres: z
          .object({
            queryTimeoutMs: z.number().int().min(10).max(600_000).default(5000),
            connectTimeoutMs: z.number().int().min(10).max(60_000).default(2000),
            maxConnections: z.number().int().min(1).max(1000).default(10),
          })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
    /**
     * `GET /metrics` in the Prometheus text format, served only to peers in
     * `allowedAddresses`; anyone else gets 404 as for any unknown route.
     */
    metrics: z
      .object({
        enabled: z.boolean().default(true),
        allowedAddresses: z.array(z.string()).default(['127.0.0.1', '::1']),
      })
      .strict()
      .prefault({}),
    services: z.record(z.string(), serviceSchema).default({}),
    routes: z.array(routeSchema).default([]),
    roles: z.record(z.string(), z.array(z.string())).default({}),
  })
  .strict()
  .superRefine((config, context) => {
    config.routes.forEach((route, index) => {
      if (!(route.service in config.services)) {
        context.addIssue({
          code: 'custom',
          path: ['routes', index, 'service'],
          message: `names service "${route.service}", which is not in "services"`,
        });
      }
    });
  });

/** Validated gateway configuration with defaults applied. */
export type GatewayConfig = z.infer<typeof configSchema>;
/** Configuration as written in a file, before defaults. */
export type GatewayConfigInput = z.input<typeof configSchema>;

/** A configuration error; the message names the option, what was expected and what was given. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/**
 * Validates `input` and applies defaults. Relative `keysFile` and `dataDir` are resolved against
 * `baseDir`.
 *
 * @throws ConfigError naming the first bad option.
 */
export function parseConfig(input: unknown, baseDir = process.cwd()): GatewayConfig {
  const result = configSchema.safeParse(input);
  if (!result.success) {
    const lines = result.error.issues.map((issue) => {
      const path = issue.path.length === 0 ? '(root)' : issue.path.join('.');
      return `option "${path}": ${issue.message}`;
    });
    throw new ConfigError(`invalid configuration:\n  ${lines.join('\n  ')}`);
  }
  const config = result.data;
  config.keysFile = resolve(baseDir, config.keysFile);
  config.dataDir = resolve(baseDir, config.dataDir);
  return config;
}

/**
 * Reads a JSON configuration file and validates it.
 *
 * @throws ConfigError when the file cannot be read, is not JSON, or is invalid.
 */
export function loadConfigFile(path: string): GatewayConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`cannot read configuration file ${path}: ${(error as Error).message}`);
  }
  let input: unknown;
  try {
    input = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(
      `configuration file ${path} is not valid JSON: ${(error as Error).message}`,
    );
  }
  return parseConfig(input, dirname(resolve(path)));
}

/** Origins the gateway answers on: the configured ones, or the listen address and localhost. */
export function publicOrigins(config: GatewayConfig, boundPort: number): URL[] {
  if (config.publicOrigins !== undefined)
    return config.publicOrigins.map((origin) => new URL(origin));
  const hosts = new Set([
    config.listen.host === '0.0.0.0' || config.listen.host === '::'
      ? '127.0.0.1'
      : config.listen.host,
    'localhost',
  ]);
  return [...hosts].map(
    (host) => new URL(`http://${host.includes(':') ? `[${host}]` : host}:${boundPort}`),
  );
}
