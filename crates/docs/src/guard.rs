//! Checks a member's y-sync frame before yrs reads it, so that hostile bytes cost the session no
//! more than their own length and can never panic it.
//!
//! yrs trusts the counts in its input: it reserves room for as many state-vector entries, update
//! clients and awareness states as a frame claims (a 7-byte sync step 1 that claims 2^24 clients
//! made the session spend tens of milliseconds reserving memory), and it adds clocks and lengths
//! with `+` (a struct or deleted range at clock `0xFFFF_FFFF` overflows: a panic in debug builds,
//! a silent wrap that corrupts the document in release). So:
//!
//! 1. [`check_frame`] walks the frame's lib0 framing itself and refuses any count that its
//!    remaining bytes cannot hold, any clock past [`CLOCK_LIMIT`], a truncated message, and more
//!    than [`MAX_MESSAGES`] messages;
//! 2. [`decode_update`] decodes an update with overflow checks on (the workspace builds yrs with
//!    `overflow-checks` in every profile) and turns a panic into an error, then checks that every
//!    inserted and deleted range ends below [`CLOCK_LIMIT`], so that nothing yrs computes later
//!    from them can overflow either.

use crate::DocError;
use yrs::Update;
use yrs::updates::decoder::Decode;

/// Messages in one frame (a client sends one to three).
pub const MAX_MESSAGES: usize = 64;

/// State-vector entries, update clients or awareness states one message may carry. Every member
/// and every browser tab that ever edited is a client; thousands is far past a band's lifetime.
pub const MAX_CLIENTS: u64 = 4096;

/// The clock (per-client operation count) no struct or deletion may reach: 2^30, a billion
/// keystrokes by one client, with room below `u32::MAX` for yrs's own arithmetic.
pub const CLOCK_LIMIT: u64 = 1 << 30;

fn malformed(m: impl Into<String>) -> DocError {
    DocError::Malformed(m.into())
}

/// A lib0 reader that never trusts a length.
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// A lib0 variable-length unsigned integer (7 bits a byte, at most 64 bits).
    fn var(&mut self) -> Result<u64, DocError> {
        let mut v: u64 = 0;
        for shift in (0..64).step_by(7) {
            let Some(&b) = self.buf.get(self.pos) else { return Err(malformed("a message ends mid-number")) };
            self.pos += 1;
            if shift == 63 && b > 1 {
                return Err(malformed("a number over 64 bits"));
            }
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(malformed("a number over 64 bits"))
    }

    /// A length-prefixed byte string.
    fn buf(&mut self) -> Result<&'a [u8], DocError> {
        let len = self.var()?;
        if len > self.remaining() as u64 {
            return Err(malformed(format!("a field claims {len} bytes; {} remain", self.remaining())));
        }
        let start = self.pos;
        self.pos += len as usize;
        Ok(&self.buf[start..self.pos])
    }

    /// A count of items each at least `min_bytes` long, checked against what remains.
    fn count(&mut self, what: &str, min_bytes: u64) -> Result<u64, DocError> {
        let n = self.var()?;
        if n > MAX_CLIENTS {
            return Err(malformed(format!("{n} {what}; the limit is {MAX_CLIENTS}")));
        }
        if n.saturating_mul(min_bytes) > self.remaining() as u64 {
            return Err(malformed(format!("{n} {what} in {} bytes", self.remaining())));
        }
        Ok(n)
    }

    fn clock(&mut self) -> Result<u64, DocError> {
        let c = self.var()?;
        if c >= CLOCK_LIMIT {
            return Err(malformed(format!("clock {c} is past the limit {CLOCK_LIMIT}")));
        }
        Ok(c)
    }
}

/// Checks a y-sync frame's framing and every count in it; see the module docs.
///
/// # Errors
/// [`DocError::Malformed`] naming what is wrong.
pub fn check_frame(bytes: &[u8]) -> Result<(), DocError> {
    let mut r = Reader::new(bytes);
    let mut messages = 0;
    while r.remaining() > 0 {
        messages += 1;
        if messages > MAX_MESSAGES {
            return Err(malformed(format!("more than {MAX_MESSAGES} messages in one frame")));
        }
        match r.var()? {
            // Sync: step 1 (a state vector), step 2 or update (an update).
            0 => match r.var()? {
                0 => check_state_vector(r.buf()?)?,
                1 | 2 => check_update_head(r.buf()?)?,
                t => return Err(malformed(format!("unknown sync message {t}"))),
            },
            1 => check_awareness(r.buf()?)?,
            // Auth: a reason code, and a string with "permission denied".
            2 => {
                if r.var()? == 0 {
                    r.buf()?;
                }
            }
            3 => {}
            _ => {
                r.buf()?;
            }
        }
    }
    if messages == 0 {
        return Err(malformed("an empty frame"));
    }
    Ok(())
}

fn check_state_vector(p: &[u8]) -> Result<(), DocError> {
    let mut r = Reader::new(p);
    // Each entry is a client and a clock: two bytes at least.
    for _ in 0..r.count("state vector entries", 2)? {
        r.var()?;
        r.clock()?;
    }
    Ok(())
}

/// The head of a v1 update: its client count and the first client's block count and clock. The
/// rest is checked after decoding ([`decode_update`]); yrs only reserves room from these two
/// counts before reading real bytes.
fn check_update_head(p: &[u8]) -> Result<(), DocError> {
    let mut r = Reader::new(p);
    // Each client: a block count, the client and its first clock.
    if r.count("update clients", 3)? > 0 {
        let blocks = r.var()?;
        if blocks > r.remaining() as u64 {
            return Err(malformed(format!("{blocks} blocks in {} bytes", r.remaining())));
        }
        r.var()?;
        r.clock()?;
    }
    Ok(())
}

fn check_awareness(p: &[u8]) -> Result<(), DocError> {
    let mut r = Reader::new(p);
    // Each state: a client, a clock and a JSON string.
    for _ in 0..r.count("awareness states", 3)? {
        r.var()?;
        r.var()?;
        r.buf()?;
    }
    if r.remaining() > 0 {
        return Err(malformed("bytes after the awareness states"));
    }
    Ok(())
}

/// Decodes a v1 update whose frame passed [`check_frame`], refusing overflowing clocks and any
/// range that ends at or past [`CLOCK_LIMIT`].
///
/// # Errors
/// [`DocError::Malformed`].
pub fn decode_update(bytes: &[u8]) -> Result<Update, DocError> {
    let u = std::panic::catch_unwind(|| Update::decode_v1(bytes))
        .map_err(|_| malformed("a clock overflows"))?
        .map_err(|e| malformed(e.to_string()))?;
    let inserted = u.insertions(true);
    for (client, ranges) in inserted.iter().chain(u.delete_set().iter()) {
        for range in ranges {
            if u64::from(range.end) >= CLOCK_LIMIT || range.start > range.end {
                return Err(malformed(format!(
                    "client {client}: range {}..{} is past the clock limit {CLOCK_LIMIT}",
                    range.start, range.end
                )));
            }
        }
    }
    Ok(u)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// lib0 varuint.
    fn var(mut v: u64, out: &mut Vec<u8>) {
        while v >= 0x80 {
            out.push((v as u8 & 0x7f) | 0x80);
            v >>= 7;
        }
        out.push(v as u8);
    }

    fn sync(sub: u64, payload: &[u8]) -> Vec<u8> {
        let mut f = vec![0];
        var(sub, &mut f);
        var(payload.len() as u64, &mut f);
        f.extend_from_slice(payload);
        f
    }

    #[test]
    fn a_step1_that_claims_millions_of_clients_is_refused_from_its_length() {
        let mut sv = Vec::new();
        var(1 << 24, &mut sv);
        let e = check_frame(&sync(0, &sv)).unwrap_err().to_string();
        assert!(e.contains("16777216 state vector entries"), "{e}");
        let mut sv = Vec::new();
        var(3, &mut sv);
        sv.extend_from_slice(&[1, 1, 2, 2]);
        assert!(check_frame(&sync(0, &sv)).unwrap_err().to_string().contains("3 state vector entries in 4 bytes"));
    }

    #[test]
    fn clocks_past_the_limit_and_truncated_frames_are_refused() {
        let mut sv = vec![1, 7];
        var(0xFFFF_FFFF, &mut sv);
        assert!(check_frame(&sync(0, &sv)).unwrap_err().to_string().contains("past the limit"));
        let whole = sync(2, &[0, 0]);
        assert!(check_frame(&whole).is_ok());
        assert!(check_frame(&whole[..whole.len() - 1]).is_err());
        assert!(check_frame(&[]).is_err());
        assert!(check_frame(&[0xff; 11]).is_err());
    }

    #[test]
    fn an_update_whose_struct_or_deletion_overflows_the_clock_is_refused_without_a_panic() {
        // One client with one string struct at clock 0xFFFFFFF0 of length 32: past u32::MAX.
        let mut u = vec![1, 1, 9];
        var(0xFFFF_FFF0, &mut u);
        // Info 4 (a string), parent by name "t", then the string.
        u.push(4);
        u.push(1);
        var(1, &mut u);
        u.push(b't');
        var(32, &mut u);
        u.extend_from_slice(&[b'x'; 32]);
        u.push(0);
        assert!(check_frame(&sync(2, &u)).unwrap_err().to_string().contains("past the limit"));
        assert!(decode_update(&u).is_err());
        // A delete set range at 0xFFFFFFFF + 5 (the head has no clients, so only decoding sees it).
        let mut d = vec![0, 1, 9];
        var(1, &mut d);
        var(0xFFFF_FFFF, &mut d);
        var(5, &mut d);
        assert!(check_frame(&sync(2, &d)).is_ok());
        let e = decode_update(&d).unwrap_err().to_string();
        assert!(e.contains("overflows") || e.contains("past the clock limit"), "{e}");
    }

    #[test]
    fn awareness_counts_are_checked() {
        let mut a = Vec::new();
        var(1 << 20, &mut a);
        let mut f = vec![1];
        var(a.len() as u64, &mut f);
        f.extend_from_slice(&a);
        assert!(check_frame(&f).is_err());
    }
}
