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

/** Escapes the three characters Slack's mrkdwn treats as control characters. */
export function escapeMrkdwn(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/**
 * Evidence comes from files the requester controls: escape it, and keep Slack mentions that
 * our own core wrote (`<@U123>`) working.
 */
export function escapeEvidence(s: string): string {
  return escapeMrkdwn(s).replace(/&lt;@([UW][A-Z0-9]+)&gt;/g, '<@$1>');
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
}

export function plain(text: string, max: number): PlainText {
  return { type: 'plain_text', text: truncate(text.length > 0 ? text : ' ', max), emoji: true };
}

export function mrkdwn(text: string, max: number = LIMITS.sectionText): MrkdwnText {
  return { type: 'mrkdwn', text: truncate(text.length > 0 ? text : ' ', max) };
}
