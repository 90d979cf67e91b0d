/**
 * Demo data of the bank: users with their roles and permissions, customer accounts with their
 * opening balances, and the system account that funds those balances.
 */

/** A demo user. The gateway's login turns these into the identity sent to the services. */
export interface SeedUser {
  id: string;
  username: string;
  displayName: string;
  roles: string[];
  permissions: string[];
}

/** A customer account as the accounts service describes it. */
export interface SeedAccount {
  id: string;
  ownerId: string;
  name: string;
  type: 'checking' | 'savings';
  currency: 'EUR';
  /** Opening balance as a decimal string with two places. */
  openingBalance: string;
}

/** Permissions of each demo role. */
export const ROLE_PERMISSIONS: Readonly<Record<string, readonly string[]>> = {
  // Customers see and move only their own money.
  customer: ['accounts:read', 'transfers:create'],
  // Tellers act for customers at the counter, so they read and debit any account.
  teller: ['accounts:read', 'accounts:read-any', 'transfers:create', 'transfers:create-any'],
  // Auditors read everything and move nothing.
  auditor: ['accounts:read', 'accounts:read-any', 'audit:read'],
};

function user(id: string, username: string, displayName: string, role: string): SeedUser {
  return {
    id,
    username,
    displayName,
    roles: [role],
    permissions: [...(ROLE_PERMISSIONS[role] ?? [])],
  };
}

/** Demo users. Their passwords live with the gateway's user store, not here. */
export const SEED_USERS: readonly SeedUser[] = [
  user('u-alice', 'alice', 'Alice Martin', 'customer'),
  user('u-bob', 'bob', 'Bob Dupont', 'customer'),
  user('u-tessa', 'tessa', 'Tessa Keller', 'teller'),
  user('u-aude', 'aude', 'Aude Laurent', 'auditor'),
];

/** Customer accounts. */
export const SEED_ACCOUNTS: readonly SeedAccount[] = [
  {
    id: 'acc-alice-checking',
    ownerId: 'u-alice',
    name: 'Alice checking',
    type: 'checking',
    currency: 'EUR',
    openingBalance: '1000.00',
  },
  {
    id: 'acc-alice-savings',
    ownerId: 'u-alice',
    name: 'Alice savings',
    type: 'savings',
    currency: 'EUR',
    openingBalance: '5000.00',
  },
  {
    id: 'acc-bob-checking',
    ownerId: 'u-bob',
    name: 'Bob checking',
    type: 'checking',
    currency: 'EUR',
    openingBalance: '750.00',
  },
];

/**
 * The bank's own capital account. Each opening balance is a transfer from it, so its balance is
 * the negative sum of all opening balances and the ledger still sums to zero. Only the ledger
 * contains it, and the accounts service does not list it.
 */
export const CAPITAL_ACCOUNT = { id: 'acc-bank-capital', currency: 'EUR' } as const;
