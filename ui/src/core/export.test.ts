import { describe, expect, it } from 'vitest';
import type { ChatMessage } from '../bindings';
import { exportChat, utc } from './export';

const m = (id: number, over: Partial<ChatMessage>): ChatMessage =>
  ({ id, from: 1, name: 'Ana', text: '', at: 0, edited_at: null, deleted: false, reply_to: null, reactions: [], ...over }) as ChatMessage;

/** The same vectors as `crates/core/src/chat.rs`, so both exports read the same. */
const log = [
  m(1, { text: '', at: 1_000, deleted: true, edited_at: 5_000 }),
  m(2, { from: 2, name: 'Ben', text: 'Which song?', at: 2_000, reply_to: 1 }),
  m(3, { text: 'Wonderwall, capo 2', at: 3_000, reply_to: 2, reactions: [{ emoji: '👍', by: [2, 3] }] }),
  m(4, { from: 3, name: 'Cy, "the" drummer', text: 'line one\nline two', at: 86_400_000 + 3_723_000 }),
];

describe('chat export', () => {
  it('renders UTC like the Rust side', () => {
    expect(utc(0)).toBe('1970-01-01 00:00:00');
    expect(utc(951_782_400_000)).toBe('2000-02-29 00:00:00');
    expect(utc(1_795_478_400_000 + 61_000)).toBe('2026-11-24 00:01:01');
  });

  it('writes RFC 4180 CSV without tombstones', () => {
    const lines = exportChat(log, 'csv').split('\r\n');
    expect(lines[0]).toBe('id,at,from,name,text,edited,reply_to,reactions');
    expect(lines[1]).toBe('2,1970-01-01 00:00:02,2,Ben,Which song?,false,1,');
    expect(lines[2]).toBe('3,1970-01-01 00:00:03,1,Ana,"Wonderwall, capo 2",false,2,👍x2');
    expect(exportChat(log, 'csv')).toContain('4,1970-01-02 01:02:03,3,"Cy, ""the"" drummer","line one\nline two"');
  });

  it('writes text a person reads, and JSON with everything', () => {
    const txt = exportChat(log, 'txt');
    expect(txt.startsWith('[1970-01-01 00:00:02] Ben: Which song?\n')).toBe(true);
    expect(txt).toContain('Cy, "the" drummer: line one\n    line two\n');
    expect(JSON.parse(exportChat(log, 'json'))).toEqual(log);
  });
});
