//! A document in brief, to summarise a burst of edits in the activity log.

use crate::SessionDoc;
use std::collections::HashMap;
use yrs::{Map, Out, Text, Transact};

impl SessionDoc {
    /// What the document holds, for summarising a burst of edits: the setlist's titles by id and
    /// each chart's length in UTF-16 units.
    #[must_use]
    pub fn summary(&self) -> Summary {
        let titles = self.setlist().into_iter().map(|s| (s.id, s.title)).collect();
        let txn = self.doc.transact();
        let mut chart_lens: Vec<(String, u32)> = self
            .charts
            .iter(&txn)
            .filter_map(|(k, v)| match v {
                Out::YText(t) => Some((k.to_owned(), t.len(&txn))),
                _ => None,
            })
            .collect();
        chart_lens.sort();
        Summary { titles, chart_lens }
    }
}

/// What a document holds, in brief (see [`SessionDoc::summary`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Song id to title, in setlist order.
    pub titles: Vec<(String, String)>,
    /// Song id to chart length (UTF-16 units), sorted by id.
    pub chart_lens: Vec<(String, u32)>,
}

impl Summary {
    /// A one-line description of what changed from `before` to `self`, e.g.
    /// `chart "Wonderwall" +42 chars, setlist +1 song`; empty when nothing visible changed.
    #[must_use]
    pub fn describe_change(&self, before: &Summary) -> String {
        // Linear in the number of charts: a session may hold tens of thousands.
        let mut parts = Vec::new();
        let titles: HashMap<&str, &str> =
            before.titles.iter().chain(&self.titles).map(|(i, t)| (i.as_str(), t.as_str())).collect();
        let old_lens: HashMap<&str, u32> = before.chart_lens.iter().map(|(i, l)| (i.as_str(), *l)).collect();
        for (id, len) in &self.chart_lens {
            let old = old_lens.get(id.as_str()).copied().unwrap_or(0);
            let d = i64::from(*len) - i64::from(old);
            if d != 0 {
                parts.push(format!("chart \"{}\" {d:+} chars", titles.get(id.as_str()).copied().unwrap_or(id)));
            }
        }
        let ds = self.titles.len() as i64 - before.titles.len() as i64;
        if ds != 0 {
            parts.push(format!("setlist {ds:+} song{}", if ds.abs() == 1 { "" } else { "s" }));
        } else if self.titles != before.titles {
            parts.push("setlist edited".to_owned());
        }
        parts.join(", ")
    }
}
