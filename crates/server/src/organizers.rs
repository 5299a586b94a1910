//! Organizers of `bandsync serve`: the tokens that authorise its API, their quotas, and which
//! sessions each one made. Tokens are stored as SHA-256 digests only: the database never holds
//! one that could be replayed.

use crate::store::{Store, StoreError};
use rusqlite::{OptionalExtension, params};

/// An organizer, as a request's token names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Organizer {
    /// Its unique name.
    pub name: String,
    /// How many sessions it may hold at once.
    pub quota: u32,
}

/// An organizer as `bandsync admin token list` shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct OrganizerInfo {
    /// Its name.
    pub name: String,
    /// Its quota.
    pub quota: u32,
    /// Whether its token was revoked.
    pub revoked: bool,
    /// Sessions it holds.
    pub sessions: u32,
}

pub(crate) const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS organizers (
        name TEXT PRIMARY KEY, token_sha256 TEXT NOT NULL UNIQUE, quota INTEGER NOT NULL,
        revoked INTEGER NOT NULL DEFAULT 0);
    CREATE TABLE IF NOT EXISTS session_owners (session TEXT PRIMARY KEY, organizer TEXT NOT NULL);";

fn digest(token: &str) -> String {
    ring::digest::digest(&ring::digest::SHA256, token.as_bytes()).as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

impl Store {
    /// Issues a token for `name` with `quota` sessions, replacing a revoked one of that name.
    /// Returns the token, shown this once.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] when `name` holds a live token; a bad name; a database error.
    pub fn create_organizer(&self, name: &str, quota: u32) -> Result<String, StoreError> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 60 || name.chars().any(char::is_control) {
            return Err(StoreError::Conflict("an organizer's name is 1 to 60 characters".into()));
        }
        let token = format!("bso_{}", crate::hub::new_token());
        let db = self.db();
        let live: Option<bool> =
            db.query_row("SELECT revoked = 0 FROM organizers WHERE name = ?1", [name], |r| r.get(0)).optional()?;
        if live == Some(true) {
            return Err(StoreError::Conflict(format!("organizer {name:?} already has a token; revoke it first")));
        }
        db.execute(
            "INSERT INTO organizers (name, token_sha256, quota, revoked) VALUES (?1, ?2, ?3, 0)
             ON CONFLICT(name) DO UPDATE SET token_sha256 = excluded.token_sha256, quota = excluded.quota, revoked = 0",
            params![name, digest(&token), quota],
        )?;
        Ok(token)
    }

    /// Revokes `name`'s token at once. Its sessions stay until deleted or idle. `false` if there is
    /// no such organizer.
    ///
    /// # Errors
    /// On a database error.
    pub fn revoke_organizer(&self, name: &str) -> Result<bool, StoreError> {
        Ok(self.db().execute("UPDATE organizers SET revoked = 1 WHERE name = ?1", [name.trim()])? > 0)
    }

    /// The organizer a token belongs to, unless it was revoked.
    ///
    /// # Errors
    /// On a database error.
    pub fn organizer(&self, token: &str) -> Result<Option<Organizer>, StoreError> {
        let row = self
            .db()
            .query_row(
                "SELECT name, quota FROM organizers WHERE token_sha256 = ?1 AND revoked = 0",
                [digest(token)],
                |r| Ok(Organizer { name: r.get(0)?, quota: r.get(1)? }),
            )
            .optional()?;
        Ok(row)
    }

    /// Every organizer, by name.
    ///
    /// # Errors
    /// On a database error.
    pub fn organizers(&self) -> Result<Vec<OrganizerInfo>, StoreError> {
        let db = self.db();
        let mut q = db.prepare(
            "SELECT o.name, o.quota, o.revoked, (SELECT COUNT(*) FROM session_owners s WHERE s.organizer = o.name)
             FROM organizers o ORDER BY o.name",
        )?;
        let rows = q.query_map([], |r| {
            Ok(OrganizerInfo {
                name: r.get(0)?,
                quota: r.get(1)?,
                revoked: r.get::<_, i64>(2)? != 0,
                sessions: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Records who made a session.
    ///
    /// # Errors
    /// On a database error.
    pub fn set_owner(&self, session: &str, organizer: &str) -> Result<(), StoreError> {
        self.db().execute(
            "INSERT INTO session_owners (session, organizer) VALUES (?1, ?2)
             ON CONFLICT(session) DO UPDATE SET organizer = excluded.organizer",
            params![session, organizer],
        )?;
        Ok(())
    }

    /// Who made a session, if an organizer did.
    ///
    /// # Errors
    /// On a database error.
    pub fn owner(&self, session: &str) -> Result<Option<String>, StoreError> {
        let o = self
            .db()
            .query_row("SELECT organizer FROM session_owners WHERE session = ?1", [session], |r| r.get(0))
            .optional()?;
        Ok(o)
    }

    /// The sessions an organizer made.
    ///
    /// # Errors
    /// On a database error.
    pub fn sessions_of(&self, organizer: &str) -> Result<Vec<String>, StoreError> {
        let db = self.db();
        let mut q = db.prepare("SELECT session FROM session_owners WHERE organizer = ?1 ORDER BY session")?;
        let rows = q.query_map([organizer], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Deletes a session and everything kept for it, in one transaction.
    ///
    /// # Errors
    /// On a database error.
    pub fn delete_session(&self, session: &str) -> Result<(), StoreError> {
        let mut db = self.db();
        let tx = db.transaction()?;
        tx.execute("DELETE FROM sessions WHERE id = ?1", [session])?;
        for table in ["doc_updates", "doc_snapshots", "chat", "activity", "doc_versions", "session_owners"] {
            tx.execute(&format!("DELETE FROM {table} WHERE session = ?1"), [session])?;
        }
        tx.commit()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::store::{Store, StoreError, StoredSession};

    #[test]
    fn tokens_are_issued_once_stored_as_digests_and_revoked_at_once() {
        let dir = std::env::temp_dir().join(format!("bandsync-org-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let s = Store::open(&dir).unwrap();
        let t = s.create_organizer("school", 2).unwrap();
        assert!(t.starts_with("bso_") && t.len() == 36, "{t}");
        assert_eq!(s.organizer(&t).unwrap().map(|o| (o.name, o.quota)), Some(("school".into(), 2)));
        assert!(s.organizer("bso_guess").unwrap().is_none());
        assert!(matches!(s.create_organizer("school", 5), Err(StoreError::Conflict(_))));
        // The token is nowhere in the database file.
        drop(s);
        let raw = std::fs::read(dir.join("bandsync.sqlite3")).unwrap();
        assert!(!raw.windows(t.len()).any(|w| w == t.as_bytes()));
        let s = Store::open(&dir).unwrap();
        s.put_session(&StoredSession {
            id: "a".into(),
            name: "A".into(),
            secret: "x".into(),
            leader_secret: None,
            viewer_secret: None,
            pin: None,
        })
        .unwrap();
        s.set_owner("a", "school").unwrap();
        assert_eq!(s.sessions_of("school").unwrap(), vec!["a".to_owned()]);
        assert!(s.revoke_organizer("school").unwrap());
        assert!(s.organizer(&t).unwrap().is_none(), "revoked at once");
        let t2 = s.create_organizer("school", 3).unwrap();
        assert_eq!(s.organizer(&t2).unwrap().map(|o| o.quota), Some(3), "a new token after a revocation");
        s.delete_session("a").unwrap();
        assert!(s.sessions().unwrap().is_empty() && s.sessions_of("school").unwrap().is_empty());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
