import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply } from 'fastify';

/**
 * Content-Security-Policy of every web app file. Scripts, styles and images come only from this
 * origin, with no inline code, and calls go only to this origin. The page cannot be framed,
 * change its base URL or submit a form natively, because the app sends its forms through the SDK.
 * Trusted Types leave no string-to-HTML sink usable.
 */
export const WEB_APP_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
  "require-trusted-types-for 'script'",
  "trusted-types 'none'",
].join('; ');

/** Headers sent with every file of the web app. */
export const WEB_APP_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': WEB_APP_CSP,
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'cross-origin-embedder-policy': 'require-corp',
  'origin-agent-cluster': '?1',
  'permissions-policy':
    'accelerometer=(), browsing-topics=(), camera=(), geolocation=(), gyroscope=(), ' +
    'magnetometer=(), microphone=(), payment=(), usb=()',
};

/**
 * Serves the built web app in `root` at `/` on the gateway's Fastify instance, with
 * {@link WEB_APP_HEADERS} on every response. Only the files present at start-up get a route,
 * so every other path still reaches the gateway's own routes. HTML is never cached; the
 * content-hashed files under `/assets/` are cached as immutable.
 */
export async function registerWebApp(app: FastifyInstance, root: string): Promise<void> {
  await app.register(async (scope) => {
    scope.addHook('onSend', async (request, reply, payload) => {
      reply.headers(WEB_APP_HEADERS);
      reply.header('cache-control', cacheControl(request.url, reply));
      return payload;
    });
    await scope.register(fastifyStatic, {
      root,
      // A wildcard route would collide with the gateway's catch-all API route.
      wildcard: false,
      cacheControl: false,
      lastModified: false,
      serveDotFiles: false,
      index: ['index.html'],
    });
  });
}

function cacheControl(url: string, reply: FastifyReply): string {
  const type = String(reply.getHeader('content-type') ?? '');
  if (url.startsWith('/assets/') && !type.startsWith('text/html')) {
    return 'public, max-age=31536000, immutable';
  }
  return 'no-store';
}
