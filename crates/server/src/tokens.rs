//! Fresh random tokens: members' resume tokens, session secrets, organizer tokens.

/// A fresh token: 128 random bits, hex.
#[must_use]
pub fn new_token() -> String {
    format!("{:032x}", rand::random::<u128>())
}
