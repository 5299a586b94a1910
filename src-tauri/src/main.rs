//! The desktop app's entry point; everything is in the library, which mobile builds load too.

// No console window next to the app on Windows release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    bandsync_app_lib::run();
}
