import { useEffect, useState } from 'preact/hooks';
import type { ActivityEvent } from '../bindings';
import { canEdit } from '../core/session';
import { clock, useApp, useAppState } from './ctx';

const ICON: Record<string, string> = {
  join: '→',
  leave: '←',
  role: '★',
  access: '🔒',
  tempo: '♩',
  meter: '𝄴',
  play: '▶',
  stop: '■',
  seek: '⇥',
  song: '♪',
  edit: '✎',
  version: '⟲',
  chat: '✉',
};

export function Activity() {
  const app = useApp();
  const activity = useAppState((s) => s.session?.activity);
  const more = useAppState((s) => s.session?.activityMore);
  const old = useAppState((s) => s.unsupported.has('activity_history'));
  if (!activity) return null;
  const events: ActivityEvent[] = [...activity].reverse();
  return (
    <section class="card" id="activity" aria-label="Activity">
      <h2>Activity</h2>
      <ol class="plain activity" data-testid="activity-list">
        {events.length === 0 && <li class="muted">{old ? 'This host keeps no activity log.' : 'Nothing yet.'}</li>}
        {events.map((e) => (
          <li key={e.id} class={`act ${e.kind}`} data-testid="activity" data-kind={e.kind}>
            <span class="act-icon" aria-hidden="true">
              {ICON[e.kind] ?? '•'}
            </span>
            <span class="grow">{e.summary}</span>
            <span class="muted small">{clock(e.at)}</span>
          </li>
        ))}
        {more && (
          <li class="center">
            <button class="small-btn" data-testid="activity-older" onClick={() => app.requestOlderActivity()}>
              Load older
            </button>
          </li>
        )}
      </ol>
    </section>
  );
}

function size(n: number): string {
  return n < 1024 ? `${n} B` : n < 1024 * 1024 ? `${(n / 1024).toFixed(1)} KB` : `${(n / 1024 / 1024).toFixed(1)} MB`;
}

/** Saved versions of the setlist and charts: save one with a label, restore one. */
export function History() {
  const app = useApp();
  // `undefined` out of a session.
  const versions = useAppState((s) => s.session?.versions);
  const editable = useAppState((s) => !!s.session && canEdit(s.session));
  // The newest event when it is a saved or restored version: no other event re-renders this.
  const saved = useAppState((s) => {
    const a = s.session?.activity;
    const e = a?.[a.length - 1];
    return e?.kind === 'version' ? e.id : 0;
  });
  const online = useAppState((s) => s.connection?.state === 'online');
  const old = useAppState((s) => s.unsupported.has('versions'));
  const [label, setLabel] = useState('');

  // Ask once on open, and again when a version was saved or restored by anyone.
  useEffect(() => {
    if (online) void app.send({ type: 'versions' }, true);
  }, [online, saved]);

  if (versions === undefined) return null;
  return (
    <section class="card" id="history" aria-label="History">
      <div class="row">
        <h2 class="grow">Versions</h2>
        <button class="small-btn" data-testid="versions-refresh" onClick={() => void app.send({ type: 'versions' })}>
          Refresh
        </button>
      </div>
      {editable && (
        <form
          class="row"
          onSubmit={(e) => {
            e.preventDefault();
            const l = label.trim() || `Saved ${new Date().toLocaleString()}`;
            // The host broadcasts the new list of versions to everyone.
            void app.send({ type: 'save_version', label: l.slice(0, 80) }).then((ok) => {
              if (ok) setLabel('');
            });
          }}
        >
          <input class="grow" data-testid="version-label" placeholder="Label, e.g. before the gig" value={label} maxLength={80} onInput={(e) => setLabel((e.target as HTMLInputElement).value)} />
          <button type="submit" class="primary" data-testid="version-save">
            Save version
          </button>
        </form>
      )}
      <ol class="plain versions" data-testid="versions-list">
        {versions === null && <li class="muted">{old ? 'This host keeps no versions.' : 'Loading…'}</li>}
        {versions?.length === 0 && <li class="muted">No saved versions.</li>}
        {[...(versions ?? [])].reverse().map((v) => (
          <li key={v.id} class="row" data-testid="version" data-id={v.id}>
            <div class="grow">
              <strong>{v.label}</strong>
              <div class="muted small">
                {clock(v.at)} · {size(v.size)}
              </div>
            </div>
            {editable && (
              <button
                class="small-btn"
                data-testid="version-restore"
                onClick={() => {
                  if (confirm(`Restore “${v.label}”? The setlist and every chart go back to that version for everyone. The current state can be saved first.`)) {
                    void app.send({ type: 'restore_version', id: v.id });
                  }
                }}
              >
                Restore
              </button>
            )}
          </li>
        ))}
      </ol>
    </section>
  );
}
