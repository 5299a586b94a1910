import type { Participant } from '../bindings';
import { isLeader } from '../core/session';
import { concernWords as words } from '../core/labels';
import { ms, useApp, useAppState } from './ctx';

/** The band: who is here, who leads, how well each one's clock is synced and its output plays,
 *  who is in which chart. The leader sees each member whose figures are off flagged. */
export function Participants() {
  const app = useApp();
  // Not the schedule, the song or the chat: only who is here re-renders the band.
  const participants = useAppState((s) => s.session?.participants);
  const stats = useAppState((s) => s.session?.stats);
  const me = useAppState((s) => s.session?.you);
  const lead = useAppState((s) => !!s.session && isLeader(s.session));
  const presence = useAppState((s) => s.presence);
  const songs = useAppState((s) => s.songs);
  const viewSong = useAppState((s) => s.viewSong);
  if (!participants || !stats) return null;
  const title = (id: string | null | undefined) => (id ? (songs.find((s) => s.id === id)?.title ?? 'a chart') : null);

  const row = (p: Participant) => {
    const you = p.id === me;
    const where = you ? title(viewSong) : title(presence.get(p.id));
    const sync = p.sync;
    const out = sync?.output ?? null;
    const concerns = p.connection === 'online' ? (sync?.concerns ?? []) : [];
    return (
      <li
        key={p.id}
        class={`participant ${p.connection}${lead && concerns.length > 0 ? ' flagged' : ''}`}
        data-concerns={concerns.join(' ')}
        data-testid="participant"
        data-id={p.id}
        data-role={p.role}
        data-connection={p.connection}
      >
        <span class="dot" style={{ background: p.color }} aria-hidden="true" />
        <div class="grow">
          <div class="p-name">
            <strong>{p.name}</strong>
            {you && <span class="muted"> (you)</span>}
            {p.role === 'leader' && <span class="badge lead">leader</span>}
            {p.access === 'viewer' && <span class="badge">viewer</span>}
          </div>
          <div class="muted small">
            {p.instrument ?? 'no instrument'} · <span class={p.connection === 'online' ? 'ok' : 'warn'}>{p.connection}</span>
            {sync && (
              <>
                {' '}
                · rtt {ms(sync.rtt_us)} · ±{ms(sync.error_us, 2)}{' '}
                <span class={sync.synced ? 'ok' : 'warn'}>{sync.synced ? 'synced' : 'not synced'}</span>
              </>
            )}
            {!sync && p.connection === 'online' && ' · no sync report yet'}
            {out && (
              <span data-testid="output-report">
                {' '}
                · output {ms(out.latency_us)}
                {out.buffer_us > 0 && <> ({ms(out.buffer_us)} buffer)</>} {out.source} · {out.clicks} clicks
                {out.missed > 0 && <span class="warn"> · {out.missed} missed</span>}
                {out.late > 0 && <span class="warn"> · {out.late} late</span>}
              </span>
            )}
            {where && <> · in “{where}”</>}
          </div>
          {lead && concerns.length > 0 && (
            <div class="warn small" role="status" data-testid="sync-flag">
              ⚠ {concerns.map(words).join(', ')}
            </div>
          )}
        </div>
        {lead && !you && (
          <div class="p-actions">
            {p.connection === 'online' && (
              <button
                class="small-btn"
                data-testid="handover"
                onClick={() => {
                  if (confirm(`Hand leadership to ${p.name}?`)) void app.send({ type: 'handover', to: p.id });
                }}
              >
                Make leader
              </button>
            )}
            <button
              class="small-btn"
              onClick={() =>
                void app.send({ type: 'set_access', participant: p.id, access: p.access === 'viewer' ? 'editor' : 'viewer' })
              }
            >
              {p.access === 'viewer' ? 'Allow edits' : 'Read only'}
            </button>
          </div>
        )}
      </li>
    );
  };

  return (
    <section class="card" id="band" aria-label="Band">
      <h2>
        Band <span class="muted small">{stats.online} online · {stats.members} in session</span>
      </h2>
      <ul class="plain participants" data-testid="participants">
        {participants.map(row)}
      </ul>
    </section>
  );
}
