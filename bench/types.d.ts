// Minimal declarations for the two benchmark-only packages that ship no types.
declare module 'hawk' {
  export const client: {
    header(
      uri: string,
      method: string,
      options: {
        credentials: { id: string; key: string; algorithm: string };
        timestamp?: number;
        nonce?: string;
        payload?: string;
        contentType?: string;
      },
    ): { header: string };
  };
  export const server: {
    authenticate(
      request: {
        method: string;
        url: string;
        headers: Record<string, string>;
        host?: string;
        port?: number;
      },
      credentialsFunc: (id: string) => Promise<{ id: string; key: string; algorithm: string }>,
      options?: {
        payload?: string;
        nonceFunc?: (key: string, nonce: string, ts: number) => Promise<void> | void;
        localtimeOffsetMsec?: number;
      },
    ): Promise<unknown>;
  };
}

declare module 'autocannon' {
  interface Options {
    url: string;
    connections?: number;
    duration?: number;
    overallRate?: number;
    requests?: Array<{
      method?: string;
      path?: string;
      setupRequest?: (request: { headers?: Record<string, string> }) => unknown;
    }>;
  }
  interface Histogram {
    average: number;
    p50: number;
    p99: number;
  }
  interface Result {
    /** Requests per second, plus `total`, the number of responses received. */
    requests: Histogram & { total: number };
    latency: Histogram;
    errors: number;
    non2xx: number;
  }
  function autocannon(options: Options): Promise<Result>;
  export default autocannon;
}
