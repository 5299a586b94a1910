//! Chat export, built in the browser from the loaded history. The same formats as the Rust
//! `bandsync_core::chat::export`: `json` (every message, tombstones included), `csv` (RFC 4180)
//! and `txt` (one line per message as a person reads it); deleted messages are left out of CSV
//! and TXT, and times are UTC.

import type { ChatMessage } from '../bindings';

export type ExportFormat = 'json' | 'csv' | 'txt';

/** Unix milliseconds as `YYYY-MM-DD HH:MM:SS` UTC. */
export function utc(ms: number): string {
  const d = new Date(Math.floor(ms / 1000) * 1000);
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${p(d.getUTCFullYear(), 4)}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}`;
}

function csvCell(s: string): string {
  return /[,"\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function exportChat(messages: readonly ChatMessage[], format: ExportFormat): string {
  const live = messages.filter((m) => !m.deleted);
  switch (format) {
    case 'json':
      return JSON.stringify(messages, null, 2);
    case 'csv': {
      let out = 'id,at,from,name,text,edited,reply_to,reactions\r\n';
      for (const m of live) {
        const reactions = m.reactions.map((r) => `${r.emoji}x${r.by.length}`).join(' ');
        const row = [
          String(m.id),
          utc(m.at),
          String(m.from),
          m.name,
          m.text,
          String(m.edited_at !== null && m.edited_at !== undefined),
          m.reply_to === null || m.reply_to === undefined ? '' : String(m.reply_to),
          reactions,
        ];
        out += row.map(csvCell).join(',') + '\r\n';
      }
      return out;
    }
    case 'txt': {
      let out = '';
      for (const m of live) {
        const edited = m.edited_at !== null && m.edited_at !== undefined ? ' (edited)' : '';
        out += `[${utc(m.at)}] ${m.name}: ${m.text.replace(/\n/g, '\n    ')}${edited}\n`;
      }
      return out;
    }
  }
}

export const EXPORT_MIME: Record<ExportFormat, string> = {
  json: 'application/json',
  csv: 'text/csv',
  txt: 'text/plain',
};
