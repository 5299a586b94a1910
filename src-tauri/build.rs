//! Tauri's build step: reads `tauri.conf.json` (a link to the one at the repository's top level),
//! and generates the permissions of the app's own commands, so that `capabilities/*.json` can
//! allow exactly those.

fn main() {
    // The UI must be built before the app embeds it; say how instead of failing deep in codegen.
    let dist = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../ui/dist/index.html");
    println!("cargo:rerun-if-changed=../ui/dist/index.html");
    if !dist.is_file() {
        println!(
            "cargo:warning=ui/dist is not built; the app will embed no UI. Build it first: npm --prefix ui ci && npm --prefix ui run build"
        );
    }
    let commands = &[
        "host_session",
        "join_session",
        "leave_session",
        "send_msg",
        "send_doc",
        "discover",
        "qr_svg",
        "audio_devices",
        "audio_inputs",
        "set_audio",
        "calibrate",
        "set_link",
        "link_status",
        "set_midi",
        "midi_settings",
        "midi_ports",
        "keep_awake",
        "launch_options",
    ];
    tauri_build::try_build(
        tauri_build::Attributes::new().app_manifest(tauri_build::AppManifest::new().commands(commands)),
    )
    .expect("tauri build step");
}
