//! Entry point: one UI for the Tauri app and the phone browser (see README).

import { render } from 'preact';
import { App } from './app';
import { exposeDebug } from './state/debug';
import { loadCore } from './wasm/core';
import { warmChart } from './wasm/api';
import { isTauri, launchOptions, linkStatus } from './net/tauri';
import { restoreMidi } from './ui/MidiSettings';
import { Root } from './ui/Root';
import { AppContext } from './ui/ctx';
import './styles.css';

// The Rust core (wasm) first: every rule the page follows is in it.
async function start(): Promise<void> {
  await loadCore();
  const app = new App();
  exposeDebug(app);

  // Opened from a join link with a name already known: join straight away (a reload resumes).
  const initial = app.initialTarget();
  if (initial && initial.secret && app.state.settings.name.trim()) {
    void app.join(location.href, null);
  }

  // The app started as `bandsync-desktop --host NAME [--name YOU]` (scripts/run.sh): host at once.
  if (isTauri()) {
    void linkStatus()
      .then((link) => app.store.set({ link }))
      .catch(() => undefined);
    void restoreMidi();
    void launchOptions()
      .then((o) => {
        if (!o.host) return;
        if (o.name) app.setSettings({ name: o.name });
        else if (!app.state.settings.name.trim()) app.setSettings({ name: 'Leader' });
        return app.hostSession(o.host);
      })
      .catch(() => undefined);
  }

  render(
    <AppContext.Provider value={app}>
      <Root />
    </AppContext.Provider>,
    document.getElementById('app')!,
  );
  setTimeout(warmChart, 1e3);
}

start().catch((e) => {
  document.body.textContent = `BandSync could not start: ${String(e)}`;
});
