/**
 * Passwords of the demo users. They are published in the README, so they protect nothing: use
 * them only with the demo's own development keys.
 */
export const DEMO_PASSWORDS: Readonly<Record<string, string>> = {
  alice: 'alice-demo-password',
  bob: 'bob-demo-password',
  tessa: 'tessa-demo-password',
  aude: 'aude-demo-password',
};
