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
