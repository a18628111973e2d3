import type { types } from '@slack/bolt';

export interface EphemeralClient {
  chat: {
    postEphemeral(args: { channel: string; user: string; text: string; blocks?: types.KnownBlock[] }): Promise<unknown>;
    postMessage(args: { channel: string; text: string; blocks?: types.KnownBlock[] }): Promise<unknown>;
  };
}

/**
 * Tells one user something only they see: ephemerally in the channel the interaction came from,
 * or in the app's DM when it came from App Home or a modal without a channel (chat:write).
 */
export async function tellUser(
  client: EphemeralClient,
  where: { channel?: string | undefined; user: string },
  msg: { text: string; blocks?: types.KnownBlock[] },
): Promise<void> {
  if (where.channel) await client.chat.postEphemeral({ channel: where.channel, user: where.user, ...msg });
  else await client.chat.postMessage({ channel: where.user, ...msg });
}

export interface ResponseUrlOptions {
  /** Per request (default 10 s). */
  timeoutMs?: number;
  /** Tries after the first on a network error or 5xx (default 2). */
  retries?: number;
}

/**
 * Answers through a command's or interaction's response_url (works in channels the app is not a
 * member of, for 30 minutes). Bounded: each try times out, a 5xx or network error is tried again a
 * few times, then the answer is given up with an error (the work it reports on is done already).
 */
export async function postToResponseUrl(
  url: string,
  message: Record<string, unknown>,
  opts: ResponseUrlOptions = {},
): Promise<void> {
  const retries = opts.retries ?? 2;
  let last: unknown;
  for (let attempt = 0; attempt <= retries; attempt++) {
    if (attempt > 0) await new Promise((r) => setTimeout(r, 250 * 2 ** attempt));
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(message),
        signal: AbortSignal.timeout(opts.timeoutMs ?? 10_000),
      });
      await res.body?.cancel();
      if (res.ok) return;
      last = new Error(`response_url answered HTTP ${res.status}`);
      if (res.status < 500) break;
    } catch (err) {
      last = err;
    }
  }
  throw last instanceof Error ? last : new Error(String(last));
}
