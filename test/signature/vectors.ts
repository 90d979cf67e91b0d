import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { z } from 'zod';

import type { SignableRequest, SignableResponse } from '../../src/signature/message.js';

// Loads the shared vector files in test/vectors. The schemas check the files' shape, so a vector
// edited by hand fails here with the path of the wrong member instead of deep inside a test.

const headersSchema = z.array(z.tuple([z.string(), z.string()]));

const requestSchema = z.object({
  method: z.string(),
  scheme: z.string(),
  authority: z.string(),
  target: z.string(),
  headers: headersSchema,
  body: z.string().optional(),
});

const responseSchema = z.object({
  status: z.number().int(),
  headers: headersSchema,
  body: z.string().optional(),
  /** Name of the request message that this response is for. */
  request: z.string().optional(),
});

const messageSchema = z.union([requestSchema, responseSchema]);
const structuredFieldsSchema = z.record(z.string(), z.enum(['dictionary', 'list', 'item']));

const componentCaseSchema = z.object({
  id: z.string(),
  title: z.string(),
  section: z.string().optional(),
  message: z.union([z.string(), messageSchema]),
  components: z.array(z.string()),
  structuredFields: structuredFieldsSchema.optional(),
  baseLines: z.array(z.string()).optional(),
  error: z.string().optional(),
});

const appendixBSchema = z.object({
  keys: z.record(
    z.string(),
    z.object({
      algorithm: z.string(),
      publicKeyPem: z.string().optional(),
      privateKeyPem: z.string().optional(),
      secretBase64: z.string().optional(),
    }),
  ),
  messages: z.record(z.string(), messageSchema),
  cases: z.array(
    z.object({
      id: z.string(),
      title: z.string(),
      message: z.string(),
      key: z.string(),
      deterministic: z.boolean(),
      signatureInput: z.string(),
      signature: z.string(),
      base: z.string().nullable(),
      valid: z.boolean(),
    }),
  ),
});

const componentsSchema = z.object({
  messages: z.record(z.string(), messageSchema).optional(),
  cases: z.array(componentCaseSchema),
});

const digestsSchema = z.object({
  digests: z.array(
    z.object({
      id: z.string(),
      title: z.string(),
      body: z.string().optional(),
      bodyBase64: z.string().optional(),
      algorithm: z.enum(['sha-256', 'sha-512']),
      fieldValue: z.string(),
    }),
  ),
  wantContentDigest: z.array(
    z.object({
      id: z.string(),
      fieldValue: z.string(),
      preferences: z.array(z.object({ algorithm: z.string(), weight: z.number().int() })),
      selected: z.enum(['sha-256', 'sha-512']).nullable(),
    }),
  ),
});

const parserCaseSchema = z.object({
  value: z.string(),
  title: z.string().optional(),
  ok: z.boolean().optional(),
  error: z.string().optional(),
});

const parsersSchema = z.object({
  signatureInput: z.array(parserCaseSchema),
  signature: z.array(parserCaseSchema),
  contentDigest: z.array(parserCaseSchema),
  wantContentDigest: z.array(parserCaseSchema),
  acceptSignature: z.array(parserCaseSchema),
});

const interopSchema = z.object({
  cases: z.array(
    z.object({
      id: z.string(),
      title: z.string(),
      request: requestSchema,
      body: z.string().nullable(),
      digest: z.enum(['sha-256', 'sha-512']).nullable(),
      components: z.array(z.string()),
      difference: z.string().optional(),
      rampartBaseLines: z.array(z.string()).optional(),
      rampartError: z.string().optional(),
    }),
  ),
});

/** A message as the vector files write it. */
export type VectorMessage = z.infer<typeof messageSchema>;
/** One case of the component and canonicalization files. */
export type ComponentCase = z.infer<typeof componentCaseSchema>;
/** One case of the parser file. */
export type ParserCase = z.infer<typeof parserCaseSchema>;

function load<T>(name: string, schema: z.ZodType<T>): T {
  const path = fileURLToPath(new URL(`../vectors/${name}`, import.meta.url));
  return schema.parse(JSON.parse(readFileSync(path, 'utf8')));
}

/** RFC 9421 appendix B: keys, messages and every signature example. */
export const appendixB = load('rfc9421-appendix-b.json', appendixBSchema);
/** Component values from the examples of RFC 9421 sections 2.1 to 2.5. */
export const rfcComponents = load('rfc9421-components.json', componentsSchema);
/** Rampart's canonicalization cases beyond the RFC examples. */
export const canonicalization = load('canonicalization.json', componentsSchema);
/** RFC 9530 digests and Want-Content-Digest examples. */
export const digests = load('rfc9530-digests.json', digestsSchema);
/** Valid and invalid values for each structured field parser. */
export const parsers = load('parsers.json', parsersSchema);
/** Requests for the interoperability tests with http-message-signatures. */
export const interop = load('interop-requests.json', interopSchema);

/**
 * Converts a vector message into the signature module's message type. A response's `request`
 * names another message of `messages`.
 */
export function toSignable(
  message: VectorMessage,
  messages: Readonly<Record<string, VectorMessage>> = {},
): SignableRequest | SignableResponse {
  if (!('status' in message)) {
    const { method, scheme, authority, target, headers } = message;
    return { method, scheme, authority, target, headers };
  }
  const response: SignableResponse = { status: message.status, headers: message.headers };
  if (message.request !== undefined) {
    const request = messages[message.request];
    if (request === undefined || 'status' in request) {
      throw new Error(`vector response names an unknown request ${message.request}`);
    }
    response.request = toSignable(request) as SignableRequest;
  }
  return response;
}

/** Returns the message of a component case, resolving a name against `messages`. */
export function caseMessage(
  testCase: ComponentCase,
  messages: Readonly<Record<string, VectorMessage>> = {},
): SignableRequest | SignableResponse {
  const message =
    typeof testCase.message === 'string' ? messages[testCase.message] : testCase.message;
  if (message === undefined) throw new Error(`vector ${testCase.id} names an unknown message`);
  return toSignable(message, messages);
}
