import { useEffect, useRef, useState } from 'preact/hooks';
import type { ChatMessage, ClientMsg } from '../bindings';
import { EXPORT_MIME, type ExportFormat } from '../core/export';
import { canEdit } from '../core/session';
import { clock, download, useApp, useAppState } from './ctx';
import { ask, canAsk, seen } from '../net/notify';

const QUICK = ['👍', '❤️', '😂', '🔥', '👏', '🎸', '🥁', '❓'];

function Message(props: { m: ChatMessage; mine: boolean; replyTo: ChatMessage | undefined; you: number; onReply: () => void; canWrite: boolean }) {
  const app = useApp();
  const { m } = props;
  const [editing, setEditing] = useState(false);
  const [text, setText] = useState(m.text);
  const [picking, setPicking] = useState(false);
  const color = useAppState((s) => s.session?.participants.find((p) => p.id === m.from)?.color ?? '#888');

  if (m.deleted) {
    return (
      <li class="msg deleted" data-testid="chat-message" data-id={m.id}>
        <span class="muted small">{m.name} deleted a message · {clock(m.edited_at ?? m.at)}</span>
      </li>
    );
  }
  return (
    <li class={`msg ${props.mine ? 'mine' : ''} ${m.mentions.includes(props.you) ? 'to-you' : ''}`} data-testid="chat-message" data-id={m.id}>
      <div class="msg-head">
        <span class="dot" style={{ background: color }} />
        <strong>{m.name}</strong>
        <span class="muted small">
          {clock(m.at)}
          {m.edited_at !== null && ' · edited'}
        </span>
      </div>
      {props.replyTo && (
        <div class="msg-quote small">
          ↪ {props.replyTo.name}: {props.replyTo.deleted ? '(deleted)' : props.replyTo.text.slice(0, 80)}
        </div>
      )}
      {m.reply_to !== null && !props.replyTo && <div class="msg-quote small muted">↪ an older message</div>}
      {editing ? (
        <form
          class="row"
          onSubmit={(e) => {
            e.preventDefault();
            if (text.trim() && text !== m.text) void app.send({ type: 'chat_edit', id: m.id, text });
            setEditing(false);
          }}
        >
          <input class="grow" data-testid="chat-edit-input" value={text} onInput={(e) => setText((e.target as HTMLInputElement).value)} maxLength={2000} />
          <button type="submit" class="primary">
            Save
          </button>
          <button type="button" onClick={() => setEditing(false)}>
            Cancel
          </button>
        </form>
      ) : (
        <div class="msg-text">{m.text}</div>
      )}
      <div class="msg-foot">
        {m.reactions.map((r) => (
          <button
            key={r.emoji}
            class={`reaction ${r.by.includes(props.you) ? 'on' : ''}`}
            disabled={!props.canWrite}
            onClick={() => void app.send({ type: 'chat_react', id: m.id, emoji: r.emoji })}
            title={`${r.by.length}`}
          >
            {r.emoji} {r.by.length}
          </button>
        ))}
        {props.canWrite && (
          <span class="msg-actions">
            <button class="ghost small" aria-label="React" data-testid="chat-react" onClick={() => setPicking(!picking)}>
              ☺+
            </button>
            <button class="ghost small" onClick={props.onReply}>
              Reply
            </button>
            {props.mine && (
              <>
                <button
                  class="ghost small"
                  data-testid="chat-edit"
                  onClick={() => {
                    setText(m.text);
                    setEditing(true);
                  }}
                >
                  Edit
                </button>
                <button
                  class="ghost small"
                  data-testid="chat-delete"
                  onClick={() => {
                    if (confirm('Delete this message?')) void app.send({ type: 'chat_delete', id: m.id });
                  }}
                >
                  Delete
                </button>
              </>
            )}
          </span>
        )}
      </div>
      {picking && (
        <div class="emoji-pick">
          {QUICK.map((e) => (
            <button
              key={e}
              class="ghost"
              onClick={() => {
                setPicking(false);
                void app.send({ type: 'chat_react', id: m.id, emoji: e });
              }}
            >
              {e}
            </button>
          ))}
        </div>
      )}
    </li>
  );
}

export function Chat() {
  const app = useApp();
  // What the chat shows, each on its own: a member's sync report re-renders none of it.
  const chat = useAppState((s) => s.session?.chat);
  const search = useAppState((s) => s.session?.search);
  const chatMore = useAppState((s) => s.session?.chatMore);
  const asking = useAppState((s) => !!s.session?.chatRequests.length);
  const you = useAppState((s) => s.session?.you ?? 0);
  const name = useAppState((s) => s.session?.name ?? '');
  const canWrite = useAppState((s) => !!s.session && canEdit(s.session));
  const unsupported = useAppState((s) => s.unsupported.has('chat_history'));
  const [text, setText] = useState('');
  const [reply, setReply] = useState<ChatMessage | null>(null);
  const [query, setQuery] = useState('');
  const [exporting, setExporting] = useState(false);
  const listRef = useRef<HTMLOListElement>(null);
  const atBottom = useRef(true);
  const count = chat?.length ?? 0;
  const newest = chat?.[count - 1]?.id;

  // Stay at the newest message unless the reader scrolled up.
  useEffect(() => {
    const el = listRef.current;
    if (el && atBottom.current) el.scrollTop = el.scrollHeight;
  }, [newest, count]);

  if (!chat) return null;
  const byId = new Map(chat.map((m) => [m.id, m]));
  const shown = search ? search.results : chat;

  const send = () => {
    const t = text.trim();
    if (!t) return;
    const msg: ClientMsg = { type: 'chat', text: t, reply_to: reply ? reply.id : null };
    void app.send(msg).then((ok) => {
      if (ok) {
        setText('');
        setReply(null);
        atBottom.current = true;
      }
    });
  };

  const doExport = async (f: ExportFormat) => {
    setExporting(true);
    try {
      const text = await app.exportChat(f);
      const stamp = new Date().toISOString().slice(0, 10);
      download(`${name.replace(/[^\w-]+/g, '_')}-chat-${stamp}.${f}`, EXPORT_MIME[f], text);
    } catch (e) {
      app.toast(`Export: ${String(e)}`);
    } finally {
      setExporting(false);
    }
  };

  return (
    <section class="card chat" id="chat" aria-label="Chat">
      <div class="row wrap chat-head">
        <h2 class="grow">Chat</h2>
        {canAsk() && (
          <button type="button" data-testid="notify-ask" title="Be notified when someone writes @you, @your instrument or @all" onClick={() => ask(app)}>
            🔔 Notify me
          </button>
        )}
        <form
          class="row search"
          onSubmit={(e) => {
            e.preventDefault();
            if (query.trim()) app.requestChat('search', query.trim());
          }}
        >
          <input type="search" data-testid="chat-search" placeholder="Search" value={query} onInput={(e) => setQuery((e.target as HTMLInputElement).value)} />
          <button type="submit">Find</button>
        </form>
      </div>
      {search && (
        <div class="search-bar row">
          <span class="grow small">
            {search.pending ? 'Searching…' : `${search.results.length}${search.more ? '+' : ''} messages match “${search.query}”`}
          </span>
          <button
            class="small-btn"
            onClick={() => {
              setQuery('');
              app.closeSearch();
            }}
          >
            Back to chat
          </button>
        </div>
      )}
      <ol
        class="plain chat-list"
        data-testid="chat-list"
        ref={listRef}
        onScroll={(e) => {
          const el = e.currentTarget as HTMLElement;
          atBottom.current = el.scrollHeight - el.scrollTop - el.clientHeight < 40;
        }}
      >
        {!search && chatMore && (
          <li class="center">
            <button class="small-btn" data-testid="chat-older" disabled={asking} onClick={() => app.requestChat('older')}>
              Load older messages
            </button>
          </li>
        )}
        {shown.length === 0 && (
          <li class="muted">{search ? 'Nothing found.' : unsupported ? 'This host has no chat.' : 'No messages yet.'}</li>
        )}
        {shown.map((m) => (
          <Message
            key={m.id}
            m={m}
            mine={m.from === you}
            replyTo={m.reply_to !== null ? byId.get(m.reply_to) : undefined}
            you={you}
            canWrite={canWrite}
            onReply={() => setReply(m)}
          />
        ))}
      </ol>
      {reply && (
        <div class="replying row small">
          <span class="grow">
            Replying to {reply.name}: {reply.text.slice(0, 60)}
          </span>
          <button class="ghost" aria-label="Cancel reply" onClick={() => setReply(null)}>
            ✕
          </button>
        </div>
      )}
      <form
        class="row chat-compose"
        onSubmit={(e) => {
          e.preventDefault();
          send();
        }}
      >
        <textarea
          class="grow"
          data-testid="chat-input"
          rows={1}
          maxLength={2000}
          disabled={!canWrite}
          placeholder={canWrite ? 'Message the band' : 'Viewers cannot write'}
          value={text}
          onInput={(e) => setText((e.target as HTMLTextAreaElement).value)}
          onFocus={() => seen(app)}
          onKeyDown={(e) => {
            if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
              e.preventDefault();
              send();
            }
          }}
        />
        <button type="submit" class="primary" data-testid="chat-send" disabled={!canWrite || !text.trim()}>
          Send
        </button>
      </form>
      <div class="row wrap export">
        <span class="muted small">Export:</span>
        {(['json', 'csv', 'txt'] as ExportFormat[]).map((f) => (
          <button key={f} class="small-btn" data-testid={`chat-export-${f}`} disabled={exporting} onClick={() => void doExport(f)}>
            {f.toUpperCase()}
          </button>
        ))}
      </div>
    </section>
  );
}
