import type { Participant } from '../bindings';
import { isLeader } from '../core/session';
import { ms, useApp, useAppState } from './ctx';

/** The band: who is here, who leads, how well each one's clock is synced, who is in which chart. */
export function Participants() {
  const app = useApp();
  const session = useAppState((s) => s.session);
  const presence = useAppState((s) => s.presence);
  const songs = useAppState((s) => s.songs);
  const viewSong = useAppState((s) => s.viewSong);
  if (!session) return null;
  const lead = isLeader(session);
  const title = (id: string | null | undefined) => (id ? (songs.find((s) => s.id === id)?.title ?? 'a chart') : null);

  const row = (p: Participant) => {
    const you = p.id === session.you;
    const where = you ? title(viewSong) : title(presence.get(p.id));
    const sync = p.sync;
    return (
      <li
        key={p.id}
        class={`participant ${p.connection}`}
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
            {where && <> · in “{where}”</>}
          </div>
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
        Band <span class="muted small">{session.stats.online} online · {session.stats.members} in session</span>
      </h2>
      <ul class="plain participants" data-testid="participants">
        {session.participants.map(row)}
      </ul>
    </section>
  );
}
