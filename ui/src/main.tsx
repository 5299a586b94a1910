//! Entry point: one UI for the Tauri app and the phone browser (see README).

import { render } from 'preact';
import { App, exposeDebug } from './app';
import { Root } from './ui/Root';
import { AppContext } from './ui/ctx';
import './styles.css';

const app = new App();
exposeDebug(app);

// Opened from a join link with a name already known: join straight away (a reload resumes).
const initial = app.initialTarget();
if (initial && initial.secret && app.state.settings.name.trim()) {
  void app.join(location.href, null);
}

render(
  <AppContext.Provider value={app}>
    <Root />
  </AppContext.Provider>,
  document.getElementById('app')!,
);
