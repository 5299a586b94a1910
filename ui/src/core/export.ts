//! Chat export: the host writes it (`chat_export`, `bandsync_core::chat::export` on the host), so
//! the formats are exactly the CLI's; here only the file types.

export type ExportFormat = 'json' | 'csv' | 'txt';

export const EXPORT_MIME: Record<ExportFormat, string> = {
  json: 'application/json',
  csv: 'text/csv',
  txt: 'text/plain',
};
