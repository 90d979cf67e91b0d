import type { GatewayConfig } from './config.js';

/** A configured route that matched a request. */
export interface RouteMatch {
  method: string;
  pattern: string;
  service: string;
  permission: string;
  params: Record<string, string>;
}

interface CompiledRoute {
  method: string;
  pattern: string;
  segments: string[];
  service: string;
  permission: string;
}

// A parameter matches one segment of unreserved characters; "%" is excluded so that a service
// never has to decode a value the gateway matched.
const PARAM_VALUE = /^[A-Za-z0-9._~-]+$/;

/** The gateway's route table: method and path pattern to upstream service and permission. */
export class RouteTable {
  readonly #routes: CompiledRoute[];

  constructor(routes: GatewayConfig['routes']) {
    this.#routes = routes.map((route) => ({
      method: route.method,
      pattern: route.path,
      segments: route.path.split('/').slice(1),
      service: route.service,
      permission: route.permission,
    }));
  }

  /** Returns the first route whose method and pattern match, or undefined. */
  match(method: string, path: string): RouteMatch | undefined {
    const segments = path.split('/').slice(1);
    for (const route of this.#routes) {
      if (route.method !== method || route.segments.length !== segments.length) continue;
      const params = matchSegments(route.segments, segments);
      if (params !== undefined) {
        return {
          method,
          pattern: route.pattern,
          service: route.service,
          permission: route.permission,
          params,
        };
      }
    }
    return undefined;
  }
}

function matchSegments(pattern: string[], actual: string[]): Record<string, string> | undefined {
  const params: Record<string, string> = {};
  for (const [index, expected] of pattern.entries()) {
    const segment = actual[index] as string;
    if (expected.startsWith(':')) {
      if (!PARAM_VALUE.test(segment)) return undefined;
      params[expected.slice(1)] = segment;
    } else if (expected !== segment) {
      return undefined;
    }
  }
  return params;
}
