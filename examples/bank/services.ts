import type { KeyObject } from 'node:crypto';

import type { FastifyBaseLogger, FastifyInstance } from 'fastify';

import { hmacKey } from '../../src/signature/algorithms.js';
import { listeningAuthority } from '../../src/service/index.js';
import { createAccountsService } from './accounts/accounts-service.js';
import { createAuditService } from './audit/audit-service.js';
import { createLedgerService } from './ledger/ledger-service.js';
import { createPaymentsService } from './payments/payments-service.js';

/** Hop key ids of the demo, one per calling service and callee. */
export const HOP_KEY_IDS = [
  'gateway-accounts',
  'gateway-payments',
  'payments-accounts',
  'payments-ledger',
  'accounts-ledger',
  'gateway-audit',
] as const;

/** A hop key id of the demo. */
export type HopKeyId = (typeof HOP_KEY_IDS)[number];

/** Options of {@link startBankServices}. */
export interface BankServicesOptions {
  /** Folder for the ledger's SQLite file; it must exist. */
  dataDir: string;
  /** Raw HMAC key of at least 32 bytes for each hop key id. */
  hopKeys: Readonly<Record<HopKeyId, Uint8Array>>;
  /**
   * TCP ports on 127.0.0.1. Default 8081, 8082, 8083 and, with `audit`, 8084; 0 picks free
   * ports.
   */
  ports?: { accounts: number; ledger: number; payments: number; audit?: number };
  /**
   * The gateway's audit log and audit public key. With it, the audit service starts too, so an
   * auditor can list and verify the trail through the gateway.
   */
  audit?: { file: string; publicKey?: KeyObject };
  /** A pino logger, or false for none. Default false. */
  logger?: FastifyBaseLogger | false;
}

/** The running demo services. */
export interface BankServices {
  /** Base URL of each service, such as `http://127.0.0.1:8081`. */
  urls: { accounts: string; ledger: string; payments: string; audit?: string };
  /** Closes every service it started. */
  close(): Promise<void>;
}

const DEFAULT_PORTS = { accounts: 8081, ledger: 8082, payments: 8083, audit: 8084 } as const;
const HOST = '127.0.0.1';

/**
 * Builds the demo services and listens on 127.0.0.1: ledger first, then accounts, then payments,
 * so that each one's upstream URLs are known when it is built, and last the audit service when
 * `options.audit` is given.
 *
 * @throws TypeError for a missing or short hop key; the listen error when a port is taken
 *   (services already started are closed first).
 */
export async function startBankServices(options: BankServicesOptions): Promise<BankServices> {
  const key = (keyid: HopKeyId) => {
    const bytes = options.hopKeys[keyid] as Uint8Array | undefined;
    if (bytes === undefined)
      throw new TypeError(`startBankServices option hopKeys.${keyid} is missing`);
    return hmacKey(bytes);
  };
  const credentials = (keyid: HopKeyId) => ({ keyid, key: key(keyid) });
  const ports = options.ports ?? DEFAULT_PORTS;
  const logger = options.logger ?? false;
  const started: FastifyInstance[] = [];

  const listen = async (app: FastifyInstance, port: number): Promise<string> => {
    started.push(app);
    await app.listen({ host: HOST, port });
    return `http://${listeningAuthority(app.server)}`;
  };

  try {
    const ledgerUrl = await listen(
      createLedgerService({
        dataDir: options.dataDir,
        callers: {
          'payments-ledger': { caller: 'payments', key: key('payments-ledger') },
          'accounts-ledger': { caller: 'accounts', key: key('accounts-ledger') },
        },
        logger: childLogger(logger, 'ledger'),
      }),
      ports.ledger,
    );
    const accountsUrl = await listen(
      createAccountsService({
        callers: {
          'gateway-accounts': { caller: 'gateway', key: key('gateway-accounts') },
          'payments-accounts': { caller: 'payments', key: key('payments-accounts') },
        },
        ledger: { baseUrl: ledgerUrl, credentials: credentials('accounts-ledger') },
        logger: childLogger(logger, 'accounts'),
      }),
      ports.accounts,
    );
    const paymentsUrl = await listen(
      createPaymentsService({
        callers: { 'gateway-payments': { caller: 'gateway', key: key('gateway-payments') } },
        accounts: { baseUrl: accountsUrl, credentials: credentials('payments-accounts') },
        ledger: { baseUrl: ledgerUrl, credentials: credentials('payments-ledger') },
        logger: childLogger(logger, 'payments'),
      }),
      ports.payments,
    );

    let auditUrl: string | undefined;
    if (options.audit !== undefined) {
      auditUrl = await listen(
        createAuditService({
          auditFile: options.audit.file,
          ...(options.audit.publicKey ? { auditPublicKey: options.audit.publicKey } : {}),
          callers: { 'gateway-audit': { caller: 'gateway', key: key('gateway-audit') } },
          logger: childLogger(logger, 'audit'),
        }),
        ports.audit ?? DEFAULT_PORTS.audit,
      );
    }

    return {
      urls: {
        accounts: accountsUrl,
        ledger: ledgerUrl,
        payments: paymentsUrl,
        ...(auditUrl === undefined ? {} : { audit: auditUrl }),
      },
      close: () => closeAll(started),
    };
  } catch (error) {
    await closeAll(started);
    throw error;
  }
}

// In reverse start order, so no service is closed while another can still call it.
async function closeAll(apps: FastifyInstance[]): Promise<void> {
  for (const app of [...apps].reverse()) await app.close();
}

function childLogger(
  logger: FastifyBaseLogger | false,
  service: string,
): FastifyBaseLogger | false {
  return logger === false ? false : logger.child({ service });
}
