//! The join link as a QR code, for the app (SVG, PNG), `bandsync host --qr-png FILE`, and the
//! terminal. The band scans it and plays: nobody types an address.

use qrcode::render::{svg, unicode};
use qrcode::{EcLevel, QrCode};

/// Why a QR code could not be made.
#[derive(Debug, thiserror::Error)]
pub enum QrError {
    /// The link does not fit in a QR code.
    #[error("the join link does not fit in a QR code: {0}")]
    TooLong(String),
    /// PNG encoding failed.
    #[error("cannot encode the QR code as PNG: {0}")]
    Png(String),
}

fn code(link: &str) -> Result<QrCode, QrError> {
    // Medium error correction: survives a scuffed phone screen and a dim rehearsal room.
    QrCode::with_error_correction_level(link.as_bytes(), EcLevel::M).map_err(|e| QrError::TooLong(e.to_string()))
}

/// The QR code as an SVG document.
///
/// # Errors
/// When the link is too long for a QR code.
pub fn svg(link: &str) -> Result<String, QrError> {
    Ok(code(link)?.render::<svg::Color<'_>>().min_dimensions(256, 256).quiet_zone(true).build())
}

/// The QR code drawn with Unicode half blocks, two rows per line, for a terminal. Each line sets
/// its own colours (black on white, then reset), so the code reads the same on a light terminal
/// and a dark one: a scanner needs dark modules on a light ground, not the terminal's own scheme.
///
/// # Errors
/// When the link is too long for a QR code.
pub fn terminal(link: &str) -> Result<String, QrError> {
    let blocks = code(link)?
        .render::<unicode::Dense1x2>()
        .dark_color(unicode::Dense1x2::Dark)
        .light_color(unicode::Dense1x2::Light)
        .quiet_zone(true)
        .build();
    Ok(blocks.lines().map(|l| format!("\x1b[30;107m{l}\x1b[0m")).collect::<Vec<_>>().join("\n"))
}

/// The QR code as an 8-bit greyscale PNG, `scale` pixels per module, with a 4-module quiet zone.
///
/// # Errors
/// When the link is too long for a QR code or PNG encoding fails.
pub fn png(link: &str, scale: u32) -> Result<Vec<u8>, QrError> {
    let c = code(link)?;
    let modules = c.width() as u32;
    let colors = c.to_colors();
    let scale = scale.max(1);
    let quiet = 4;
    let side = (modules + 2 * quiet) * scale;
    let mut pixels = vec![255u8; (side * side) as usize];
    for (i, color) in colors.iter().enumerate() {
        if *color == qrcode::Color::Dark {
            let (mx, my) = (i as u32 % modules + quiet, i as u32 / modules + quiet);
            for y in my * scale..(my + 1) * scale {
                let row = (y * side) as usize;
                pixels[row + (mx * scale) as usize..row + ((mx + 1) * scale) as usize].fill(0);
            }
        }
    }
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, side, side);
        enc.set_color(png::ColorType::Grayscale);
        enc.set_depth(png::BitDepth::Eight);
        let mut w = enc.write_header().map_err(|e| QrError::Png(e.to_string()))?;
        w.write_image_data(&pixels).map_err(|e| QrError::Png(e.to_string()))?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    // The PNG is read back with an independent decoder by the CLI's tests
    // (`the_qr_code_scans_to_the_join_link_and_joins`, through `bandsync_e2e::qr::scan_qr`).

    #[test]
    fn svg_rendering_exists() {
        let s = svg("http://10.0.0.2:7878/s/abc#k=00").unwrap();
        assert!(s.starts_with("<?xml") && s.contains("<svg"));
    }

    /// The terminal's code, read back the way a phone's camera sees it: each character cell is two
    /// modules (upper and lower half), in the colours the lines set, whatever the terminal's own.
    #[test]
    fn the_terminal_code_decodes_to_the_link_in_its_own_colours() {
        let link = "http://192.168.1.23:7878/s/k3f9x2abcd#k=0123456789abcdef0123456789abcdef";
        let t = terminal(link).unwrap();
        let mut rows: Vec<Vec<bool>> = Vec::new();
        for line in t.lines() {
            let cells = line
                .strip_prefix("\x1b[30;107m")
                .and_then(|l| l.strip_suffix("\x1b[0m"))
                .unwrap_or_else(|| panic!("a line without its colours: {line:?}"));
            // Black foreground on white: a block is dark (the foreground), a space light.
            let (upper, lower): (Vec<bool>, Vec<bool>) =
                cells.chars().map(|c| (matches!(c, '█' | '▀'), matches!(c, '█' | '▄'))).unzip();
            rows.push(upper);
            rows.push(lower);
        }
        let scale = 4;
        let (w, h) = (rows[0].len() * scale, rows.len() * scale);
        let mut img = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| {
            if rows[y / scale].get(x / scale).copied().unwrap_or(false) { 0 } else { 255 }
        });
        let grids = img.detect_grids();
        assert_eq!(grids.len(), 1, "one QR code");
        assert_eq!(grids[0].decode().unwrap().1, link);
    }
}
