//! Organizers of `bandsync serve`: the tokens that authorise its API, their quotas, and which
//! sessions each one made. Tokens are stored as SHA-256 digests only: the database never holds
//! one that could be replayed.

use crate::store::sql::{V, columns, one, transaction};
use crate::store::{Store, StoreError};

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
        let token = format!("bso_{}", crate::tokens::new_token());
        let mut db = self.db();
        transaction(&mut **db, |tx| {
            let live = one(tx, "SELECT revoked FROM organizers WHERE name = ?1", &[name.into()])?;
            if live.map(|v| v.int()).transpose()? == Some(0) {
                return Err(StoreError::Conflict(format!("organizer {name:?} already has a token; revoke it first")));
            }
            tx.execute(
                "INSERT INTO organizers (name, token_sha256, quota, revoked) VALUES (?1, ?2, ?3, 0)
                 ON CONFLICT(name) DO UPDATE SET token_sha256 = excluded.token_sha256, quota = excluded.quota, revoked = 0",
                &[name.into(), V::Text(digest(&token)), i64::from(quota).into()],
            )
        })?;
        Ok(token)
    }

    /// Revokes `name`'s token at once. Its sessions stay until deleted or idle. `false` if there is
    /// no such organizer.
    ///
    /// # Errors
    /// On a database error.
    pub fn revoke_organizer(&self, name: &str) -> Result<bool, StoreError> {
        Ok(self.db().execute("UPDATE organizers SET revoked = 1 WHERE name = ?1", &[name.trim().into()])? > 0)
    }

    /// The organizer a token belongs to, unless it was revoked.
    ///
    /// # Errors
    /// On a database error.
    pub fn organizer(&self, token: &str) -> Result<Option<Organizer>, StoreError> {
        let rows = self.db().query(
            "SELECT name, quota FROM organizers WHERE token_sha256 = ?1 AND revoked = 0",
            &[V::Text(digest(token))],
        )?;
        rows.into_iter()
            .next()
            .map(|r| {
                let mut next = columns(r);
                let name = next().text()?;
                Ok(Organizer { name, quota: quota(&next())? })
            })
            .transpose()
    }

    /// Every organizer, by name.
    ///
    /// # Errors
    /// On a database error.
    pub fn organizers(&self) -> Result<Vec<OrganizerInfo>, StoreError> {
        let rows = self.db().query(
            "SELECT o.name, o.quota, o.revoked, (SELECT COUNT(*) FROM session_owners s WHERE s.organizer = o.name)
             FROM organizers o ORDER BY o.name",
            &[],
        )?;
        rows.into_iter()
            .map(|r| {
                let mut next = columns(r);
                Ok(OrganizerInfo {
                    name: next().text()?,
                    quota: quota(&next())?,
                    revoked: next().int()? != 0,
                    sessions: next().int()? as u32,
                })
            })
            .collect()
    }

    /// Records who made a session.
    ///
    /// # Errors
    /// On a database error.
    pub fn set_owner(&self, session: &str, organizer: &str) -> Result<(), StoreError> {
        self.db().execute(
            "INSERT INTO session_owners (session, organizer) VALUES (?1, ?2)
             ON CONFLICT(session) DO UPDATE SET organizer = excluded.organizer",
            &[session.into(), organizer.into()],
        )?;
        Ok(())
    }

    /// Who made a session, if an organizer did.
    ///
    /// # Errors
    /// On a database error.
    pub fn owner(&self, session: &str) -> Result<Option<String>, StoreError> {
        one(&mut **self.db(), "SELECT organizer FROM session_owners WHERE session = ?1", &[session.into()])?
            .map(V::text)
            .transpose()
    }

    /// The sessions an organizer made.
    ///
    /// # Errors
    /// On a database error.
    pub fn sessions_of(&self, organizer: &str) -> Result<Vec<String>, StoreError> {
        let rows = self
            .db()
            .query("SELECT session FROM session_owners WHERE organizer = ?1 ORDER BY session", &[organizer.into()])?;
        rows.into_iter().map(|r| r.into_iter().next().unwrap_or(V::Null).text()).collect()
    }

    /// Deletes a session and everything kept for it (its lease too), in one transaction.
    ///
    /// # Errors
    /// On a database error.
    pub fn delete_session(&self, session: &str) -> Result<(), StoreError> {
        self.write_row(session, |tx| {
            // The lease row before the session's, in the order a holder's write locks them (its
            // fencing check, then the session's row): a node deleting a session another node
            // holds waits for that node's write, rather than each waiting for the other.
            tx.execute("DELETE FROM leases WHERE session = ?1", &[session.into()])?;
            tx.execute("DELETE FROM sessions WHERE id = ?1", &[session.into()])?;
            for table in [
                "doc_updates",
                "doc_snapshots",
                "doc_snapshot_parts",
                "chat",
                "activity",
                "doc_versions",
                "session_owners",
                "carried",
            ] {
                tx.execute(&format!("DELETE FROM {table} WHERE session = ?1"), &[session.into()])?;
            }
            Ok(())
        })?;
        self.forget_lease(session);
        self.forget_log(session);
        Ok(())
    }
}

fn quota(v: &V) -> Result<u32, StoreError> {
    u32::try_from(v.int()?).map_err(|e| StoreError::Corrupt(format!("quota: {e}")))
}

#[cfg(test)]
mod tests {
    use crate::store::Store;

    // The rest of the organizers' rules run on both engines in `tests/store` (the store suite).
    #[test]
    fn a_token_is_nowhere_in_the_database_file() {
        let dir = std::env::temp_dir().join(format!("bandsync-org-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let s = Store::open(&dir).unwrap();
        let t = s.create_organizer("school", 2).unwrap();
        assert!(t.starts_with("bso_") && t.len() == 36, "{t}");
        assert_eq!(s.organizer(&t).unwrap().map(|o| o.name), Some("school".into()));
        drop(s);
        let raw = std::fs::read(dir.join("bandsync.sqlite3")).unwrap();
        assert!(!raw.windows(t.len()).any(|w| w == t.as_bytes()));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
