/** Every string anywhere in a recorded Web API call (text, blocks, views, attachments, comments). */
export function strings(v: unknown, out: string[] = []): string[] {
  if (typeof v === 'string') out.push(v);
  else if (Array.isArray(v)) for (const x of v) strings(x, out);
  else if (v && typeof v === 'object') for (const x of Object.values(v)) strings(x, out);
  return out;
}

/** Live control sequences and auto-linkable forms in one string. */
export function liveSequences(s: string): string[] {
  const found = [...s.matchAll(/<[^<>]*>/g)].map((m) => m[0]);
  for (const m of s.matchAll(/@(here|channel|everyone)\b|[A-Za-z][A-Za-z0-9+.-]*:\/\/|\bwww\.|\bmailto:/gi))
    found.push(m[0]);
  return found;
}
