/**
 * Page script for the SDK tests in Chromium: exposes the browser SDK and the pure signature
 * modules it builds on as `window.rampart`, so a test can call them through `page.evaluate`.
 */
import * as sdk from '../../../src/client/browser/index.js';
import { component, parseComponentIdentifier } from '../../../src/signature/components.js';
import { fieldsFromRecord } from '../../../src/signature/message.js';
import { buildSignatureBase } from '../../../src/signature/signature-base.js';
import {
  parseSignature,
  parseSignatures,
  serializeSignatureParams,
  toParameters,
} from '../../../src/signature/signature-input.js';
import { storedSessionFixture, stubGateway } from './stub-gateway.js';

/** What the harness page exposes. */
export const harness = {
  ...sdk,
  buildSignatureBase,
  component,
  fieldsFromRecord,
  parseComponentIdentifier,
  parseSignature,
  parseSignatures,
  serializeSignatureParams,
  storedSessionFixture,
  stubGateway,
  toParameters,
};

(globalThis as unknown as { rampart: typeof harness }).rampart = harness;
