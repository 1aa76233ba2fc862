//! Full-text search, one tokenizer for everything: the projection indexes a task's
//! words, the query side turns the searched text into an FTS5 query, and live items are
//! judged in memory, all with [`words`]. The FTS5 table uses the `ascii` tokenizer,
//! which leaves these words as they are (they hold no ASCII separator and are already
//! folded), so the SQL search and the in-memory one agree by construction.
//!
//! A word is a run of alphanumeric characters, lowercased, with diacritics removed
//! (`Müller` and `Mu\u{308}ller` are both `muller`).

use std::collections::HashSet;

use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

use crate::model::Task;
use crate::view::projection::payload_rows;

/// How many words of a search count (the rest are ignored).
pub const MAX_SEARCH_WORDS: usize = 16;

/// The folded words of `text`, in order.
pub fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    if text.is_ascii() {
        // ASCII has nothing to decompose and no combining mark; its lowercase and its
        // letters and digits are ASCII's own (a property test checks it folds alike).
        return text
            .split(|c: char| !c.is_ascii_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(str::to_ascii_lowercase)
            .collect::<Vec<_>>()
            .into_iter();
    }
    folded_words(text).into_iter()
}

/// [`words`] for any text: lowercased, decomposed, combining marks dropped.
fn folded_words(text: &str) -> Vec<String> {
    let folded: String = text
        .chars()
        .flat_map(char::to_lowercase)
        .nfd()
        .filter(|c| !is_combining_mark(*c))
        .collect();
    folded
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

/// A search: every word must be in the task, the last one as a prefix (it may still be
/// being typed). `None` when the text has no word.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Search {
    whole: Vec<String>,
    prefix: String,
}

impl Search {
    pub fn parse(text: &str) -> Option<Self> {
        let mut all: Vec<String> = words(text).take(MAX_SEARCH_WORDS).collect();
        let prefix = all.pop()?;
        Some(Self { whole: all, prefix })
    }

    /// The FTS5 query: every word a quoted phrase, the last one a prefix.
    pub fn fts_query(&self) -> String {
        let quoted: Vec<String> = self
            .whole
            .iter()
            .chain(std::iter::once(&self.prefix))
            .map(|w| format!("\"{w}\""))
            .collect();
        format!("{}*", quoted.join(" "))
    }

    /// Whether the task's words hold the search (the same rule as the FTS5 query).
    pub fn matches(&self, task: &Task) -> bool {
        let words: HashSet<String> = task_words(task).into_iter().collect();
        self.whole.iter().all(|w| words.contains(w))
            && words.iter().any(|w| w.starts_with(&self.prefix))
    }
}

/// Every word of the task that search looks at (name, description, business key,
/// process name, and every payload value), given its payload's text values.
fn words_of<'a>(task: &'a Task, payload_texts: impl Iterator<Item = &'a str>) -> Vec<String> {
    [Some(&task.name), Some(&task.source_reference.name)]
        .into_iter()
        .chain([task.description.as_ref(), task.business_key.as_ref()])
        .flatten()
        .map(String::as_str)
        .chain(payload_texts)
        .flat_map(words)
        .collect()
}

/// Every word of the task, for judging a search in memory.
pub fn task_words(task: &Task) -> Vec<String> {
    let rows = payload_rows(&task.payload);
    words_of(task, rows.iter().map(|r| r.text.as_str()))
}

/// The task's words as the index stores them (separated by spaces), given its payload's
/// text values (the projection has them flattened already).
pub fn index_text<'a>(task: &'a Task, payload_texts: impl Iterator<Item = &'a str>) -> String {
    words_of(task, payload_texts).join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_folded_runs_of_letters_and_digits() {
        let w: Vec<String> =
            words("Müller-Lüdenscheid, Mu\u{308}ller; ORDER#42 İstanbul").collect();
        assert_eq!(
            w,
            ["muller", "ludenscheid", "muller", "order", "42", "istanbul"]
        );
    }

    proptest::proptest! {
        /// The ASCII fast path folds exactly as the general one.
        #[test]
        fn ascii_text_folds_as_any_text(text in "[ -~]{0,40}") {
            proptest::prop_assert_eq!(words(&text).collect::<Vec<_>>(), folded_words(&text));
        }
    }

    #[test]
    fn a_search_is_every_word_and_a_prefix() {
        let s = Search::parse("  Invoice  app").expect("words");
        assert_eq!(s.fts_query(), "\"invoice\" \"app\"*");
        assert_eq!(Search::parse(" -- "), None);
    }
}
