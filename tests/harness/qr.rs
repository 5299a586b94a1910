//! Reading a QR code off a screenshot, as a phone's camera would.
//!
//! [`crate::process`] re-exports it.

use std::io::BufReader;
use std::path::Path;

/// Reads a QR code from a PNG file, as a phone's camera would read it off the screen.
///
/// # Panics
/// Unless the file holds exactly one readable QR code.
#[must_use]
pub fn scan_qr(path: &Path) -> String {
    let dec = png::Decoder::new(BufReader::new(std::fs::File::open(path).expect("the QR code PNG")));
    let mut reader = dec.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    let (w, h) = (info.width as usize, info.height as usize);
    let mut img = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| buf[y * w + x]);
    let grids = img.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code in the PNG");
    grids[0].decode().expect("the QR code decodes").1
}
