/**
 * Slack's published Block Kit and Web API limits, and the helpers that keep every payload we
 * build inside them. Builders never throw on long input: they truncate and say where the rest is.
 */
export const LIMITS = {
  /** Blocks in one message (chat.postMessage / chat.update). */
  messageBlocks: 50,
  /** Blocks in a modal or the App Home tab. */
  viewBlocks: 100,
  sectionText: 3000,
  sectionField: 2000,
  sectionFields: 10,
  headerText: 150,
  contextElements: 10,
  /** Text of a context element (mrkdwn/plain_text object). */
  contextText: 3000,
  buttonText: 75,
  buttonValue: 2000,
  actionId: 255,
  blockId: 255,
  confirmTitle: 100,
  confirmText: 300,
  confirmButton: 30,
  modalTitle: 24,
  modalButton: 24,
  privateMetadata: 3000,
  inputLabel: 2000,
  plainTextInput: 3000,
  /** chat.postMessage / chat.update fallback `text`: Slack truncates beyond this. */
  messageText: 40_000,
} as const;

const ELLIPSIS = '…';

/** Cuts `s` to at most `max` characters (UTF-16 units), ending in an ellipsis when cut. */
export function truncate(s: string, max: number): string {
  if (s.length <= max) return s;
  if (max <= 1) return s.slice(0, max);
  let cut = s.slice(0, max - 1);
  // do not split a surrogate pair
  const last = cut.charCodeAt(cut.length - 1);
  if (last >= 0xd800 && last <= 0xdbff) cut = cut.slice(0, -1);
  return cut + ELLIPSIS;
}

/**
 * Cuts `s` to `max` characters and, when cut, appends `pointer` (e.g. "see `/readiness report run`")
 * so the reader knows where the full text is. The result is never longer than `max`.
 */
export function truncateWithPointer(s: string, max: number, pointer: string): string {
  if (s.length <= max) return s;
  const tail = `${ELLIPSIS} (${pointer})`;
  if (tail.length >= max) return truncate(s, max);
  return truncate(s, max - tail.length + 1).replace(/…$/, '') + tail;
}

const ZWSP = '\u200b';

/**
 * Breaks what Slack parses without angle brackets: a bare `@here`/`@channel`/`@name` (parsed
 * with link_names), and URLs (`scheme://`, `www.`, `mailto:`) that clients turn into links.
 * A zero-width space keeps the text readable.
 */
function neutraliseAutoParse(s: string): string {
  return s
    .replace(/@(?=[\p{L}\p{N}_])/gu, `@${ZWSP}`)
    .replace(/([A-Za-z][A-Za-z0-9+.-]*):\/\//g, `$1:${ZWSP}//`)
    .replace(/\b(www)\./gi, `$1${ZWSP}.`)
    .replace(/\b(mailto|tel|slack):/gi, `$1${ZWSP}:`);
}

/**
 * The one escaping function for text the app did not write itself (artifact contents, run and
 * model names, reasons typed into a modal, command arguments), wherever it leaves the process:
 * fallback `text`, blocks, modals, App Home and ephemeral replies. Slack's three control
 * characters become entities, so no `<@U…>`, `<!channel>`, `<!here>`, `<!everyone>`,
 * `<!subteam^…>`, `<#C…>` or `<url|label>` can come out of it, and bare mentions and URLs are
 * broken up. Only mentions the app builds itself (`mentionOf`) are live.
 */
export function escapeMrkdwn(s: string): string {
  return neutraliseAutoParse(s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;'));
}

/**
 * A live mention the app builds itself, from a Slack user id it got from Slack (requester,
 * signer); anything else (a CLI identity) is escaped like artifact text.
 */
export function mentionOf(user: string): string {
  return /^[UW][A-Z0-9]+$/.test(user) ? `<@${user}>` : escapeMrkdwn(user);
}

/** Joins lines into one text of at most `max` chars; lines that do not fit are counted in `more`. */
export function joinLines(lines: readonly string[], max: number, more: (n: number) => string): string {
  const out: string[] = [];
  let used = 0;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    const add = (out.length > 0 ? 1 : 0) + line.length;
    const rest = lines.length - i;
    const reserve = rest > 1 ? more(rest).length + 1 : 0;
    if (used + add + reserve > max) {
      const tail = more(rest);
      if (used + tail.length + 1 <= max) out.push(tail);
      else if (out.length === 0) out.push(truncate(line, max));
      return out.join('\n');
    }
    out.push(line);
    used += add;
  }
  return out.join('\n');
}

export interface PlainText {
  type: 'plain_text';
  text: string;
  emoji?: boolean;
}
export interface MrkdwnText {
  type: 'mrkdwn';
  text: string;
  verbatim?: boolean;
}

/**
 * plain_text shows entities literally, so angle brackets become look-alikes instead (no surface
 * may ever read `<!channel>` from it), and bare mentions and URLs are broken up as in mrkdwn.
 */
export function plain(text: string, max: number): PlainText {
  const inert = neutraliseAutoParse(text.replace(/</g, '‹').replace(/>/g, '›'));
  return { type: 'plain_text', text: truncate(inert.length > 0 ? inert : ' ', max), emoji: true };
}

/**
 * Every mrkdwn object is `verbatim`: Slack applies the formatting and the `<…>` sequences the app
 * wrote, but never turns plain words into links, channel names or mentions.
 */
export function mrkdwn(text: string, max: number = LIMITS.sectionText): MrkdwnText {
  return { type: 'mrkdwn', text: truncate(text.length > 0 ? text : ' ', max), verbatim: true };
}
