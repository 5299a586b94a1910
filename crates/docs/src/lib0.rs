//! A reader of lib0, the binary encoding of Yjs, that never trusts a length, and a walk over a v1
//! update that checks every count, nesting depth, client id and clock in it before yrs decodes it.
//!
//! yrs reserves memory from the counts it reads (the first count of an update, each client's
//! block count, each JSON, `Any` array and map length), and decodes `Any` values recursively
//! without a depth limit: a 1 MiB frame of nested arrays would overflow the stack and abort the
//! host. This walk follows yrs's decoder (`Update::decode`, `ItemContent::decode`, `Any::decode`)
//! step by step, but only reads.

use crate::DocError;

/// Client ids are 53-bit (a JavaScript number): yrs asserts it in debug builds and silently
/// changes a larger one in release.
pub const CLIENT_LIMIT: u64 = 1 << 53;

/// The clock (per-client operation count) no struct or deletion may reach: 2^30, a billion
/// keystrokes by one client, with room below `u32::MAX` for yrs's own arithmetic.
pub const CLOCK_LIMIT: u64 = 1 << 30;

/// Entries one count may claim (state vectors, update clients, awareness states, arrays, maps).
/// Every browser page that ever edited is a client (a reload is a new one), so a document years
/// old may hold tens of thousands; the real bound is that each entry takes bytes of the frame.
pub const MAX_COUNT: u64 = 1 << 20;

/// How deeply `Any` values (embedded JSON-like data) may nest.
pub const MAX_DEPTH: usize = 32;

pub(crate) fn malformed(m: impl Into<String>) -> DocError {
    DocError::Malformed(m.into())
}

/// A lib0 reader over a byte slice.
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    pub(crate) fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    pub(crate) fn u8(&mut self) -> Result<u8, DocError> {
        let b = *self.buf.get(self.pos).ok_or_else(|| malformed("a message ends early"))?;
        self.pos += 1;
        Ok(b)
    }

    fn skip(&mut self, n: usize) -> Result<(), DocError> {
        if n > self.remaining() {
            return Err(malformed("a message ends early"));
        }
        self.pos += n;
        Ok(())
    }

    /// A variable-length unsigned integer (7 bits a byte, at most 64 bits).
    pub(crate) fn var(&mut self) -> Result<u64, DocError> {
        let mut v: u64 = 0;
        for shift in (0..64).step_by(7) {
            let b = self.u8()?;
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

    /// A variable-length signed integer: skipped, its value is not needed.
    fn signed(&mut self) -> Result<(), DocError> {
        for _ in 0..10 {
            if self.u8()? & 0x80 == 0 {
                return Ok(());
            }
        }
        Err(malformed("a number over 64 bits"))
    }

    /// A length-prefixed byte string.
    pub(crate) fn buf(&mut self) -> Result<&'a [u8], DocError> {
        let len = self.var()?;
        if len > self.remaining() as u64 {
            return Err(malformed(format!("a field claims {len} bytes; {} remain", self.remaining())));
        }
        let start = self.pos;
        self.pos += len as usize;
        Ok(&self.buf[start..self.pos])
    }

    /// A length-prefixed UTF-8 string.
    fn string(&mut self) -> Result<&'a str, DocError> {
        std::str::from_utf8(self.buf()?).map_err(|_| malformed("a string that is not UTF-8"))
    }

    /// A count of items each at least `min_bytes` long, checked against what remains.
    pub(crate) fn count(&mut self, what: &str, min_bytes: u64) -> Result<u64, DocError> {
        let n = self.var()?;
        if n > MAX_COUNT {
            return Err(malformed(format!("{n} {what}; the limit is {MAX_COUNT}")));
        }
        if n.saturating_mul(min_bytes) > self.remaining() as u64 {
            return Err(malformed(format!("{n} {what} in {} bytes", self.remaining())));
        }
        Ok(n)
    }

    pub(crate) fn client(&mut self) -> Result<u64, DocError> {
        let c = self.var()?;
        if c >= CLIENT_LIMIT {
            return Err(malformed(format!("client id {c} is over 53 bits")));
        }
        Ok(c)
    }

    pub(crate) fn clock(&mut self) -> Result<u64, DocError> {
        let c = self.var()?;
        if c >= CLOCK_LIMIT {
            return Err(malformed(format!("clock {c} is past the limit {CLOCK_LIMIT}")));
        }
        Ok(c)
    }

    /// An `Any` value (lib0's JSON-like encoding), at most `depth` levels deep.
    fn any(&mut self, depth: usize) -> Result<(), DocError> {
        if depth == 0 {
            return Err(malformed(format!("values nested more than {MAX_DEPTH} deep")));
        }
        match self.u8()? {
            127 | 126 | 121 | 120 => Ok(()),
            125 => self.signed(),
            124 => self.skip(4),
            123 | 122 => self.skip(8),
            119 => self.string().map(drop),
            118 => {
                for _ in 0..self.count("map entries", 2)? {
                    self.string()?;
                    self.any(depth - 1)?;
                }
                Ok(())
            }
            117 => {
                for _ in 0..self.count("array items", 1)? {
                    self.any(depth - 1)?;
                }
                Ok(())
            }
            116 => self.buf().map(drop),
            t => Err(malformed(format!("unknown value type {t}"))),
        }
    }
}

/// Walks a whole v1 update: every client's blocks, then the delete set. Returns the ids (client,
/// clock) its structs refer to (origins and parents), for [`crate::causal`].
///
/// # Errors
/// [`DocError::Malformed`] naming the first thing wrong.
pub fn check_update(bytes: &[u8]) -> Result<Vec<(u64, u64)>, DocError> {
    let mut refs = Vec::new();
    let mut r = Reader::new(bytes);
    // Each client: a block count, the client and its first clock.
    let mut seen = std::collections::HashSet::new();
    for _ in 0..r.count("update clients", 3)? {
        let blocks = r.count("blocks", 2)?;
        // Each client once, as Yjs and yrs write them: yrs merges a repeated one into the same
        // list, out of order, and its integration can then overflow and abort the process.
        let client = r.client()?;
        if !seen.insert(client) {
            return Err(malformed(format!("client {client} appears twice in one update")));
        }
        let mut clock = r.clock()?;
        for _ in 0..blocks {
            clock += block(&mut r, &mut refs)?;
            if clock >= CLOCK_LIMIT {
                return Err(malformed(format!("a struct ends at clock {clock}, past the limit {CLOCK_LIMIT}")));
            }
        }
    }
    // The delete set: per client, its ranges.
    for _ in 0..r.count("delete set clients", 2)? {
        r.client()?;
        for _ in 0..r.count("deleted ranges", 2)? {
            let (start, len) = (r.clock()?, r.var()?);
            if start.saturating_add(len) >= CLOCK_LIMIT {
                return Err(malformed(format!("a deleted range ends past the clock limit {CLOCK_LIMIT}")));
            }
        }
    }
    Ok(refs)
}

/// One block (a struct); returns its length in clock ticks.
fn block(r: &mut Reader<'_>, refs: &mut Vec<(u64, u64)>) -> Result<u64, DocError> {
    let info = r.u8()?;
    match info {
        // GC: a length.
        0 => return positive(r.var()?),
        // Skip: a gap, which only merged updates hold; yrs's integration of one that a later
        // struct fills can overflow and abort the process (found by fuzz/stored_rows). No member
        // sends one: edits and sync steps hold no gaps.
        10 => return Err(malformed("an update with a gap (a skip struct)")),
        _ => {}
    }
    let mut id = |r: &mut Reader<'_>| -> Result<(), DocError> {
        let client = r.client()?;
        refs.push((client, r.clock()?));
        Ok(())
    };
    if info & 0x80 != 0 {
        id(r)?;
    }
    if info & 0x40 != 0 {
        id(r)?;
    }
    if info & 0xC0 == 0 {
        if r.var()? == 1 {
            r.string()?;
        } else {
            id(r)?;
        }
        if info & 0x20 != 0 {
            r.string()?;
        }
    }
    match info & 0b1111 {
        1 => positive(r.var()?),
        // Legacy JSON content (no Yjs since 13 writes it): yrs decodes one string more than
        // it encodes, so an update with it does not survive yrs's own re-encoding (found by
        // fuzz/fuzz_targets/stored_rows.rs: every later encode of the document panicked).
        2 => Err(malformed("legacy JSON content is not supported")),
        3 => r.buf().map(|_| 1),
        4 => r.string().map(|s| s.encode_utf16().count() as u64).and_then(positive),
        5 => r.string().map(|_| 1),
        6 => {
            r.string()?;
            r.string().map(|_| 1)
        }
        // A shared type: an array, a map or a text, and "undefined". Not Yjs's XML types
        // (element, fragment, hook, text), weak links or subdocuments: BandSync uses none, and
        // the page's Yjs need not decode them.
        7 => match r.u8()? {
            0..=2 | 15 => Ok(1),
            3..=6 => Err(malformed("XML types are not supported (BandSync's documents have none)")),
            t => Err(malformed(format!("shared type {t} is not supported"))),
        },
        8 => {
            let n = r.count("values", 1)?;
            for _ in 0..n {
                r.any(MAX_DEPTH)?;
            }
            positive(n)
        }
        // A subdocument: yrs leaks one that waits for missing structs (found by fuzz/stored_rows),
        // and BandSync's documents have none.
        9 => Err(malformed("subdocuments are not supported")),
        t => Err(malformed(format!("unknown content type {t}"))),
    }
}

fn positive(len: u64) -> Result<u64, DocError> {
    if len == 0 || len >= CLOCK_LIMIT {
        return Err(malformed(format!("a struct of length {len}")));
    }
    Ok(len)
}
