//! Checks a member's y-sync frame before yrs reads it, so that hostile bytes cost the session no
//! more than their own length and can never panic it.
//!
//! yrs trusts the counts in its input: it reserves room for as many state-vector entries, update
//! clients, blocks, values and awareness states as a frame claims (a 7-byte sync step 1 that
//! claims 2^24 clients made the session spend tens of milliseconds reserving memory), decodes
//! nested values without a depth limit (a stack overflow aborts the host), and adds clocks and
//! lengths with `+` (a struct or deleted range at clock `0xFFFF_FFFF` overflows: a panic in debug
//! builds, a silent wrap that corrupts the document in release). So:
//!
//! 1. [`check_frame`] walks the frame itself (and every update in it, [`check_update`]) and
//!    refuses any count that its remaining bytes cannot hold, values nested too deep, any clock
//!    past [`CLOCK_LIMIT`], any client id over 53 bits, a truncated message, and more than
//!    [`MAX_MESSAGES`] messages;
//! 2. [`decode_update`] decodes an update with overflow checks and debug assertions on (the
//!    workspace builds yrs with both in every profile: a client id over 53 bits is otherwise
//!    silently changed) and turns a panic into an error, then checks that every inserted and
//!    deleted range ends below [`CLOCK_LIMIT`], so that nothing yrs computes later from them can
//!    overflow either. [`decode_messages`] does the same for a whole frame.

use crate::DocError;
pub use crate::lib0::{CLIENT_LIMIT, CLOCK_LIMIT, MAX_COUNT, check_update};
use crate::lib0::{Reader, malformed};
use yrs::Update;
use yrs::updates::decoder::Decode;

/// Messages in one frame (a client sends one to three).
pub const MAX_MESSAGES: usize = 64;

/// Checks a y-sync frame's framing and every count in it (each update walked whole, once); see
/// the module docs. Returns, for each update in the frame in order, the ids its structs refer to
/// (for [`crate::causal`]).
///
/// # Errors
/// [`DocError::Malformed`] naming what is wrong.
pub fn check_frame(bytes: &[u8]) -> Result<Vec<Vec<(u64, u64)>>, DocError> {
    let mut r = Reader::new(bytes);
    let mut messages = 0;
    let mut refs = Vec::new();
    while r.remaining() > 0 {
        messages += 1;
        if messages > MAX_MESSAGES {
            return Err(malformed(format!("more than {MAX_MESSAGES} messages in one frame")));
        }
        match r.var()? {
            // Sync: step 1 (a state vector), step 2 or update (an update).
            0 => match r.var()? {
                0 => check_state_vector(r.buf()?)?,
                1 | 2 => refs.push(check_update(r.buf()?)?),
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
    Ok(refs)
}

fn check_state_vector(p: &[u8]) -> Result<(), DocError> {
    let mut r = Reader::new(p);
    // Each entry is a client and a clock: two bytes at least.
    for _ in 0..r.count("state vector entries", 2)? {
        r.client()?;
        r.clock()?;
    }
    Ok(())
}

fn check_awareness(p: &[u8]) -> Result<(), DocError> {
    let mut r = Reader::new(p);
    // Each state: a client, a clock and a JSON string.
    for _ in 0..r.count("awareness states", 3)? {
        r.client()?;
        r.var()?;
        r.buf()?;
    }
    if r.remaining() > 0 {
        return Err(malformed("bytes after the awareness states"));
    }
    Ok(())
}

/// Decodes the messages of a frame that passed [`check_frame`], turning a panic in yrs's decoders
/// into an error.
///
/// # Errors
/// [`DocError::Malformed`].
pub fn decode_messages(bytes: &[u8]) -> Result<Vec<yrs::sync::Message>, DocError> {
    use yrs::sync::MessageReader;
    use yrs::updates::decoder::DecoderV1;
    std::panic::catch_unwind(|| {
        let mut decoder = DecoderV1::from(bytes);
        MessageReader::new(&mut decoder).collect::<Result<Vec<_>, _>>()
    })
    .map_err(|_| malformed("a value out of range"))?
    .map_err(|e| malformed(e.to_string()))
}

/// Decodes a v1 update after [`check_update`], refusing overflowing clocks and any range that
/// ends at or past [`CLOCK_LIMIT`] (a second line of defence: yrs's own arithmetic, checked).
///
/// # Errors
/// [`DocError::Malformed`].
pub fn decode_update(bytes: &[u8]) -> Result<Update, DocError> {
    check_update(bytes)?;
    decode_walked(bytes)
}

/// [`decode_update`] for an update that [`check_update`] (or [`check_frame`]) already walked.
pub(crate) fn decode_walked(bytes: &[u8]) -> Result<Update, DocError> {
    let u = std::panic::catch_unwind(|| Update::decode_v1(bytes))
        .map_err(|_| malformed("a clock overflows, or a client id is over 53 bits"))?
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
        // A delete set range at 0xFFFFFFFF + 5, and one that ends just past the limit.
        let mut d = vec![0, 1, 9];
        var(1, &mut d);
        var(0xFFFF_FFFF, &mut d);
        var(5, &mut d);
        assert!(check_frame(&sync(2, &d)).unwrap_err().to_string().contains("past the limit"));
        let mut d = vec![0, 1, 9, 1];
        var(CLOCK_LIMIT - 3, &mut d);
        var(5, &mut d);
        assert!(check_frame(&sync(2, &d)).unwrap_err().to_string().contains("past the clock limit"));
        assert!(decode_update(&d).is_err());
    }

    #[test]
    fn values_nested_past_the_depth_limit_are_refused_before_yrs_recurses() {
        // One client, one item of `Any` content (info 8) under the root "t", holding an array
        // nested 100 000 deep: yrs would recurse until the stack overflows.
        let mut u = vec![1, 1, 9, 0, 8, 1, 1, b't', 1];
        u.extend(std::iter::repeat_n([117, 1], 100_000).flatten());
        u.push(126);
        u.push(0);
        let e = check_frame(&sync(2, &u)).unwrap_err().to_string();
        assert!(e.contains("nested more than"), "{e}");
        assert!(decode_update(&u).is_err());
        // Twenty levels are fine.
        let mut ok = vec![1, 1, 9, 0, 8, 1, 1, b't', 1];
        ok.extend(std::iter::repeat_n([117, 1], 20).flatten());
        ok.push(126);
        ok.push(0);
        check_frame(&sync(2, &ok)).unwrap();
        decode_update(&ok).unwrap();
    }

    #[test]
    fn block_and_value_counts_are_checked_against_the_bytes_left() {
        // A second client whose block count claims 2^28 blocks in a few bytes.
        let mut u = vec![2, 1, 9, 0, 4, 1, 1, b't', 1, b'a'];
        var(1 << 28, &mut u);
        u.extend_from_slice(&[7, 0, 0]);
        assert!(check_update(&u).unwrap_err().to_string().contains("blocks"));
        // An Any map claiming a million entries.
        let mut m = vec![1, 1, 9, 0, 8, 1, 1, b't', 1, 118];
        var(1_000_000, &mut m);
        m.push(0);
        assert!(check_update(&m).unwrap_err().to_string().contains("map entries"));
    }

    #[test]
    fn client_ids_over_53_bits_are_refused_not_silently_changed() {
        // Found by fuzz/fuzz_targets/awareness.rs: yrs only debug-asserts this.
        let frame = [1, 12, 1, 255, 255, 255, 191, 237, 231, 231, 103, 231, 231, 231, 38, 0];
        let e = check_frame(&frame[..]).unwrap_err().to_string();
        assert!(e.contains("over 53 bits") || e.contains("bytes"), "{e}");
        let mut sv = vec![1];
        var(1 << 53, &mut sv);
        sv.push(0);
        assert!(check_frame(&sync(0, &sv)).unwrap_err().to_string().contains("over 53 bits"));
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
