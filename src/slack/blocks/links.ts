import type { SlackMessageRef } from '../../store/types.js';

const CHANNEL_ID = /^[CGD][A-Z0-9]{2,}$/;
const TS = /^\d{1,12}\.\d{1,8}$/;

/**
 * The archive link of a message (`https://slack.com/archives/<channel>/p<ts without the dot>`),
 * which Slack resolves to the message in whichever workspace the reader is signed in to; null
 * for a reference that is not a channel id and message ts (nothing from an artifact reaches a URL).
 */
export function messageLink(ref: SlackMessageRef | null | undefined): string | null {
  if (!ref || !CHANNEL_ID.test(ref.channel) || !TS.test(ref.ts)) return null;
  const [secs, frac = ''] = ref.ts.split('.');
  return `https://slack.com/archives/${ref.channel}/p${secs}${frac.padEnd(6, '0').slice(0, 6)}`;
}

/** A mrkdwn link `<url|label>` to the message, or `fallback` when there is no message (yet). */
export function messageLinkText(ref: SlackMessageRef | null | undefined, label: string, fallback = label): string {
  const url = messageLink(ref);
  // the label is ours (fixed words, escaped names); | and > would end the link early
  return url ? `<${url}|${label.replace(/[|>]/g, '')}>` : fallback;
}
