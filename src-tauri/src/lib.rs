//! BandSync's Tauri shell: thin wiring around `bandsync_app::App`, which holds all the logic.
//!
//! - The commands below each delegate to one `App` method (docs/APP_API.md lists them); errors
//!   reject the UI's promise with their message.
//! - Session and discovery events flow to the UI through the `Channel` each command is given.
//! - The embedded server gives phone browsers the same UI, read from the app's bundled assets
//!   ([`BundledUi`]).
//! - Plugins: the barcode scanner on mobile (scanning the host's QR code). Keeping the screen on
//!   uses the `keepawake` crate on desktop.
//!
//! `main.rs` only calls [`run`]; mobile builds enter through the same function.

use bandsync_app::{
    App, AppError, AppEvent, AppOptions, AudioSettings, Calibration, DiscoveryEvent, HostInfo, LaunchOptions,
    LinkStatus, MidiPorts, MidiSettings, Sink,
};
use bandsync_core::ClientMsg;
use bandsync_server::UiAssets;
use std::borrow::Cow;
use std::sync::{Arc, Mutex, OnceLock};
use tauri::ipc::Channel;
use tauri::{Manager, Runtime, State};

/// Events to a UI `Channel`; `false` once the webview has dropped it (a reload).
fn sink<T: serde::Serialize + Clone + Send + 'static>(ch: Channel<T>) -> Arc<dyn Sink<T>>
where
    Channel<T>: Send + Sync,
{
    Arc::new(move |ev: T| ch.send(ev).is_ok())
}

#[tauri::command]
async fn host_session(
    app: State<'_, App>,
    name: String,
    your_name: String,
    instrument: Option<String>,
    on_event: Channel<AppEvent>,
) -> Result<HostInfo, AppError> {
    app.host_session(&name, &your_name, instrument, sink(on_event)).await
}

#[tauri::command]
async fn join_session(
    app: State<'_, App>,
    target: String,
    your_name: String,
    instrument: Option<String>,
    pin: Option<String>,
    on_event: Channel<AppEvent>,
) -> Result<(), AppError> {
    app.join_session(&target, &your_name, instrument, pin, sink(on_event)).await
}

#[tauri::command]
async fn leave_session(app: State<'_, App>) -> Result<(), AppError> {
    app.leave_session().await
}

#[tauri::command]
async fn send_msg(app: State<'_, App>, msg: ClientMsg) -> Result<(), AppError> {
    app.send_msg(msg).await
}

#[tauri::command]
async fn send_doc(app: State<'_, App>, data: Vec<u8>) -> Result<(), AppError> {
    app.send_doc(data).await
}

/// A link as a QR code (SVG), drawn by the same code as the host's.
#[tauri::command]
fn qr_svg(link: String) -> Result<String, String> {
    bandsync_server::share::svg(&link).map_err(|e| e.to_string())
}

#[tauri::command]
fn discover(app: State<'_, App>, on_event: Channel<DiscoveryEvent>) -> Result<(), AppError> {
    app.discover(sink(on_event))
}

#[tauri::command]
async fn audio_devices(app: State<'_, App>) -> Result<Vec<String>, AppError> {
    Ok(app.audio_devices().await)
}

#[tauri::command]
async fn audio_inputs(app: State<'_, App>) -> Result<Vec<String>, AppError> {
    Ok(app.audio_inputs().await)
}

#[tauri::command]
async fn set_audio(app: State<'_, App>, settings: AudioSettings) -> Result<AudioSettings, AppError> {
    app.set_audio(settings).await
}

/// Measures the output's latency through the microphone (about 12 s; the click pauses).
#[tauri::command]
async fn calibrate(app: State<'_, App>) -> Result<Calibration, AppError> {
    app.calibrate().await
}

#[tauri::command]
async fn set_link(app: State<'_, App>, on: bool) -> Result<(), AppError> {
    app.set_link(on).await
}

/// Whether this build has Ableton Link, and whether it is on.
#[tauri::command]
fn link_status(app: State<'_, App>) -> LinkStatus {
    app.link_status()
}

#[tauri::command]
async fn set_midi(app: State<'_, App>, settings: MidiSettings) -> Result<(), AppError> {
    app.set_midi(settings).await
}

/// The MIDI settings in force.
#[tauri::command]
fn midi_settings(app: State<'_, App>) -> MidiSettings {
    app.midi_settings()
}

/// The system's MIDI ports, to choose from.
#[tauri::command]
fn midi_ports(app: State<'_, App>) -> MidiPorts {
    app.midi_ports()
}

/// How the app was started (`--host NAME --name NAME`): the UI hosts at once when asked.
#[tauri::command]
fn launch_options(opts: State<'_, LaunchOptions>) -> LaunchOptions {
    opts.inner().clone()
}

#[tauri::command]
fn keep_awake(awake: State<'_, KeepAwake>, on: bool) -> Result<(), String> {
    awake.set(on)
}

/// Keeps the display on while the band plays.
#[derive(Default)]
struct KeepAwake {
    #[cfg(desktop)]
    held: Mutex<Option<keepawake::KeepAwake>>,
    #[cfg(mobile)]
    held: Mutex<()>,
}

impl KeepAwake {
    #[cfg(desktop)]
    fn set(&self, on: bool) -> Result<(), String> {
        let mut held = self.held.lock().map_err(|_| "keep-awake lock poisoned".to_owned())?;
        if !on {
            *held = None;
        } else if held.is_none() {
            let guard = keepawake::Builder::default()
                .display(true)
                .idle(true)
                .reason("Playing in time with the band")
                .app_name("BandSync")
                .app_reverse_domain("org.bandsync.app")
                .create()
                .map_err(|e| format!("cannot keep the screen on: {e}"))?;
            *held = Some(guard);
        }
        Ok(())
    }

    /// Not in the mobile build yet (docs/APP.md): the UI keeps the screen on there with the
    /// Screen Wake Lock API, and this says so instead of pretending.
    #[cfg(mobile)]
    fn set(&self, _on: bool) -> Result<(), String> {
        let _ = &self.held;
        Err("keep_awake is not available in the mobile app yet; use the Screen Wake Lock API".into())
    }
}

/// The UI bundled into the app, served by the embedded server to phone browsers. The resolver
/// exists once the app is built; the `App` holding this exists before, so commands never meet
/// unmanaged state.
struct BundledUi<R: Runtime>(OnceLock<tauri::AssetResolver<R>>);

impl<R: Runtime> UiAssets for BundledUi<R> {
    fn get(&self, path: &str) -> Option<(Cow<'static, [u8]>, &'static str)> {
        let asset = self.0.get()?.get(path.trim_start_matches('/').to_owned())?;
        let mime = static_mime(&asset.mime_type);
        Some((Cow::Owned(asset.bytes), mime))
    }
}

/// The MIME types a vite build produces, as the `'static` strings the server wants.
fn static_mime(m: &str) -> &'static str {
    const KNOWN: &[&str] = &[
        "text/html",
        "text/javascript",
        "application/javascript",
        "text/css",
        "application/json",
        "application/manifest+json",
        "application/wasm",
        "image/svg+xml",
        "image/png",
        "image/jpeg",
        "image/webp",
        "image/x-icon",
        "font/woff2",
        "font/woff",
        "audio/wav",
        "audio/mpeg",
        "text/plain",
    ];
    let base = m.split(';').next().unwrap_or(m).trim();
    KNOWN.iter().copied().find(|k| k.eq_ignore_ascii_case(base)).unwrap_or("application/octet-stream")
}

/// The app's commands, state and plugins on `builder` (the real runtime, or the mock one in
/// tests), built with `context`. The bundled UI is handed to the embedded server once the app
/// exists, before any command can run.
fn build<R: Runtime>(
    builder: tauri::Builder<R>,
    context: tauri::Context<R>,
    opts: AppOptions,
) -> tauri::Result<tauri::App<R>> {
    #[cfg(mobile)]
    let builder = builder.plugin(tauri_plugin_barcode_scanner::init());
    // The system's notifications, for a chat message that mentions this member and for a change
    // of its role (ui/src/net/notify.ts).
    let builder = builder.plugin(tauri_plugin_notification::init());
    let ui = Arc::new(BundledUi::<R>(OnceLock::new()));
    let assets: Arc<dyn UiAssets> = ui.clone();
    let app = builder
        .manage(KeepAwake::default())
        .manage(LaunchOptions::from_args(std::env::args().skip(1)))
        .manage(App::new(AppOptions { ui: Some(assets), ..opts }))
        .invoke_handler(tauri::generate_handler![
            host_session,
            join_session,
            leave_session,
            send_msg,
            send_doc,
            discover,
            qr_svg,
            audio_devices,
            audio_inputs,
            set_audio,
            calibrate,
            set_link,
            link_status,
            set_midi,
            midi_settings,
            midi_ports,
            keep_awake,
            launch_options,
        ])
        .build(context)?;
    let _ = ui.0.set(app.asset_resolver());
    Ok(app)
}

/// Leaves the session when the app quits, so a hosted session's members see it close (1001)
/// and its mDNS advertisement says goodbye.
fn on_event<R: Runtime>(handle: &tauri::AppHandle<R>, event: tauri::RunEvent) {
    if let (tauri::RunEvent::Exit, Some(app)) = (event, handle.try_state::<App>()) {
        let _ = tauri::async_runtime::block_on(app.leave_session());
    }
}

/// Runs the app.
///
/// # Panics
/// When the window system cannot start (no display) or the bundled configuration is invalid.
#[cfg_attr(mobile, tauri::mobile_entry_point)]
pub fn run() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("BANDSYNC_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .try_init();
    build(tauri::Builder::default(), tauri::generate_context!(), AppOptions::default())
        .expect("BandSync could not start its window")
        .run(on_event);
}

#[cfg(test)]
mod tests {
    use super::*;
    use tauri::test::{INVOKE_KEY, get_ipc_response, mock_builder, mock_context, noop_assets};
    use tauri::webview::InvokeRequest;

    /// Loopback only, and never mDNS in a test (it would join multicast on every interface).
    fn test_options() -> AppOptions {
        AppOptions {
            bind: "127.0.0.1:0".parse().unwrap(),
            mdns: false,
            latency_store: Some(bandsync_e2e::scratch_latency_store()),
            ..AppOptions::default()
        }
    }

    fn app() -> (tauri::App<tauri::test::MockRuntime>, tauri::WebviewWindow<tauri::test::MockRuntime>) {
        let app = build(mock_builder(), mock_context(noop_assets()), test_options()).expect("mock app");
        let w = tauri::WebviewWindowBuilder::new(&app, "main", Default::default()).build().expect("mock window");
        (app, w)
    }

    fn invoke(
        w: &tauri::WebviewWindow<tauri::test::MockRuntime>,
        cmd: &str,
        body: serde_json::Value,
    ) -> Result<serde_json::Value, serde_json::Value> {
        get_ipc_response(
            w,
            InvokeRequest {
                cmd: cmd.into(),
                callback: tauri::ipc::CallbackFn(0),
                error: tauri::ipc::CallbackFn(1),
                url: "tauri://localhost".parse().unwrap(),
                body: body.into(),
                headers: Default::default(),
                invoke_key: INVOKE_KEY.to_string(),
            },
        )
        .map(|b| b.deserialize::<serde_json::Value>().unwrap())
    }

    #[test]
    fn commands_reach_the_app_and_its_errors_reach_the_ui_as_messages() {
        let (_app, w) = app();
        let err = invoke(&w, "send_msg", serde_json::json!({"msg": {"type": "sync"}})).unwrap_err();
        assert_eq!(err, "not in a session");
        let bad = serde_json::json!({"settings": {
            "enabled": false, "device": null, "channel": "both", "volume": 1.5,
            "subdivision": 1, "latency_offset_ms": 0.0, "buffer_frames": null
        }});
        let err = invoke(&w, "set_audio", bad).unwrap_err();
        assert_eq!(err, "volume 1.5 is not between 0 and 1");
        assert_eq!(invoke(&w, "leave_session", serde_json::json!({})).unwrap(), serde_json::Value::Null);
    }

    /// `GET path` on the embedded server: status line and body.
    async fn get(port: u16, path: &str) -> (String, Vec<u8>) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        let req = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n");
        s.write_all(req.as_bytes()).await.unwrap();
        let mut buf = Vec::new();
        s.read_to_end(&mut buf).await.unwrap();
        let split = buf.windows(4).position(|w| w == b"\r\n\r\n").expect("an HTTP response");
        let head = String::from_utf8_lossy(&buf[..split]).into_owned();
        (head, buf[split + 4..].to_vec())
    }

    #[test]
    fn phones_get_the_ui_bundled_in_the_app_from_the_embedded_server() {
        let dist = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../ui/dist/index.html");
        assert!(
            dist.is_file(),
            "build the UI first (npm --prefix ui ci && npm --prefix ui run build): the app embeds ui/dist"
        );
        let app = build(mock_builder(), tauri::generate_context!(test = true), test_options()).expect("app");
        let state = app.state::<App>();
        tauri::async_runtime::block_on(async {
            let no_audio = bandsync_app::AudioSettings { enabled: false, ..bandsync_app::AudioSettings::default() };
            state.set_audio(no_audio).await.unwrap();
            let info = state.host_session("Gig", "Ana", None, Arc::new(|_: AppEvent| true)).await.unwrap();
            let (head, body) = get(info.port, "/").await;
            assert!(head.starts_with("HTTP/1.1 200"), "{head}");
            assert!(head.to_ascii_lowercase().contains("content-type: text/html"), "{head}");
            let html = String::from_utf8(body).unwrap();
            assert!(html.contains("<html"), "not the UI's index.html: {html}");
            // A script the page loads comes out of the app's bundle too.
            let script = html.split("src=\"").nth(1).and_then(|r| r.split('"').next()).expect("a script in index.html");
            let (head, body) = get(info.port, script).await;
            assert!(head.starts_with("HTTP/1.1 200"), "{script}: {head}");
            assert!(head.to_ascii_lowercase().contains("javascript"), "{script}: {head}");
            let on_disk = std::fs::read(
                std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("../ui/dist")
                    .join(script.trim_start_matches('/')),
            )
            .unwrap();
            assert_eq!(body, on_disk, "{script} differs from ui/dist");
            state.leave_session().await.unwrap();
        });
    }

    #[test]
    fn mime_types_map_to_static_strings() {
        assert_eq!(static_mime("text/html; charset=utf-8"), "text/html");
        assert_eq!(static_mime("image/SVG+xml"), "image/svg+xml");
        assert_eq!(static_mime("application/x-unknown"), "application/octet-stream");
    }
}
