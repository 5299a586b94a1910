//! A session's documents as the store holds them: read back (at a session's start, after a
//! failed write) and folded into a snapshot, both building the documents the same way.

/// A session's documents from the store: the snapshot, then each update after it. An update that
/// no longer applies (written by an older version, or damaged) is skipped and logged, so that one
/// bad row costs one edit, not the session.
///
/// # Errors
/// When the store cannot be read, or the snapshot does not load.
pub(crate) fn load_document(store: &crate::store::Store, id: &str) -> Result<bandsync_docs::SessionDoc, String> {
    let (snapshot, updates) = store.document(id).map_err(|e| e.to_string())?;
    build_document(id, snapshot.as_deref(), &updates)
}

/// A session's documents as it starts on this server ([`crate::store::Store::document_to_start`]),
/// built as [`load_document`] builds them.
///
/// # Errors
/// When the store cannot be read, or the snapshot does not load.
pub(crate) fn start_document(store: &crate::store::Store, id: &str) -> Result<bandsync_docs::SessionDoc, String> {
    let (snapshot, updates) = store.document_to_start(id).map_err(|e| e.to_string())?;
    build_document(id, snapshot.as_deref(), &updates)
}

/// A session's documents from a snapshot and the updates after it; an update that no longer
/// applies is logged and skipped.
fn build_document(id: &str, snapshot: Option<&[u8]>, updates: &[Vec<u8>]) -> Result<bandsync_docs::SessionDoc, String> {
    let doc = bandsync_docs::SessionDoc::new();
    if let Some(s) = snapshot {
        doc.apply_update(s).map_err(|e| format!("its snapshot: {e}"))?;
    }
    for (i, u) in updates.iter().enumerate() {
        if let Err(e) = doc.apply_update(u) {
            tracing::error!(session = id, "stored update {i} skipped: {e}");
        }
    }
    Ok(doc)
}

/// Folds a session's stored log into its snapshot ([`crate::store::Store::compact`]): the
/// documents built as a load builds them, encoded whole. Called off the session's task.
pub(crate) fn compact_document(store: &crate::store::Store, id: &str) {
    let folded = store.compact(id, |snapshot, updates| Ok(build_document(id, snapshot, updates)?.encode_state()));
    if let Err(e) = folded {
        tracing::error!(session = id, "could not compact the stored documents: {e}");
    }
}
