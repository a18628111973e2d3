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
export async function tellUser(client: EphemeralClient, where: { channel?: string | undefined; user: string }, msg: { text: string; blocks?: types.KnownBlock[] }): Promise<void> {
  if (where.channel) await client.chat.postEphemeral({ channel: where.channel, user: where.user, ...msg });
  else await client.chat.postMessage({ channel: where.user, ...msg });
}
