//! Ableton Link in the app's settings: shown only in a build that has it (the Link library is
//! GPL, so Link is an opt-in build of the app). What Link does is Rust's (`bandsync_core::link`).

import { setLink } from '../net/tauri';
import { useApp, useAppState } from './ctx';

export function LinkSettings() {
  const app = useApp();
  const link = useAppState((x) => x.link);
  if (!link?.available) return null;
  const peers = link.on ? ` · ${link.peers === 1 ? '1 Link app' : `${link.peers} Link apps`} here` : '';
  return (
    <div class="settings-group">
      <h3>Ableton Link</h3>
      <label class="check">
        <input
          type="checkbox"
          data-testid="link-on"
          checked={link.on}
          onChange={(e) => {
            const on = (e.target as HTMLInputElement).checked;
            setLink(on)
              .then(() => app.store.set({ link: { ...link, on, peers: on ? link.peers : 0 } }))
              .catch((err: unknown) => app.toast(`Link: ${String(err)}`));
          }}
        />
        <span>
          In time with Live and every Link app on this network
          <span class="muted small" data-testid="link-peers">
            {peers}
          </span>
        </span>
      </label>
      <p class="hint">
        Link shows the band's tempo, bars and start/stop. As the leader, a tempo or start/stop from Live reaches the band on the next bar,
        and Play starts on Live's bar.
      </p>
    </div>
  );
}
