//! Chat export in the browser, from the loaded history: the Rust core's own export
//! (`bandsync_core::chat::export`, in wasm), so the formats are exactly the CLI's.

import type { ChatMessage } from '../bindings';
import { exportChat as exportInCore } from '../wasm/api';

export type ExportFormat = 'json' | 'csv' | 'txt';

/** The messages as `format`. */
export function exportChat(messages: readonly ChatMessage[], format: ExportFormat): string {
  return exportInCore(messages, format);
}

export const EXPORT_MIME: Record<ExportFormat, string> = {
  json: 'application/json',
  csv: 'text/csv',
  txt: 'text/plain',
};
