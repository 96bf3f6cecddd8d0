//! The sensitive-word check of broadcasts (V3, manual §9.6): the operator's word list
//! compiled into one Aho–Corasick automaton, so a text is checked in time linear in
//! its length whatever the number of words (at most 10,000).
//!
//! Matching runs over UTF-8 bytes with the `aho-corasick` crate (BurntSushi's, the one
//! behind `regex`: well kept, no unsafe in our use). Chinese is matched correctly
//! because UTF-8 is self-synchronising: the bytes of a whole character sequence can
//! only occur in a text at character boundaries, so a byte match is a character
//! match — no word splitting, no false match across characters. Latin letters match
//! ignoring ASCII case.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};

/// A compiled word list.
pub struct WordList {
    words: Vec<String>,
    automaton: Option<AhoCorasick>,
}

impl WordList {
    /// Compiles `words` (empty words are ignored).
    pub fn new(words: &[String]) -> WordList {
        let words: Vec<String> = words.iter().filter(|w| !w.is_empty()).cloned().collect();
        let automaton = if words.is_empty() {
            None
        } else {
            AhoCorasickBuilder::new()
                .ascii_case_insensitive(true)
                .match_kind(MatchKind::LeftmostFirst)
                .build(&words)
                .ok()
        };
        WordList { words, automaton }
    }

    /// The first listed word found in `text`, if any.
    pub fn find(&self, text: &str) -> Option<&str> {
        let m = self.automaton.as_ref()?.find(text)?;
        self.words.get(m.pattern().as_usize()).map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(words: &[&str]) -> WordList {
        WordList::new(&words.iter().map(|w| w.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn chinese_words_are_found_whole_and_only_whole() {
        let l = list(&["发票", "赌博", "VIAGRA"]);
        assert_eq!(l.find("低价代开发票，请联系"), Some("发票"));
        assert_eq!(l.find("网上赌博"), Some("赌博"));
        assert_eq!(l.find("buy viagra now"), Some("VIAGRA"));
        assert_eq!(l.find("双十一大促，全场八折"), None);
        // 发 and 票 apart are not the word.
        assert_eq!(l.find("发货后开票"), None);
        assert_eq!(list(&[]).find("发票"), None);
    }

    #[test]
    fn a_byte_match_never_straddles_characters() {
        // Every other CJK character in a row: the bytes around each boundary never
        // spell the word's bytes (UTF-8 is self-synchronising).
        let l = list(&["中国"]);
        let text: String = ('\u{4e00}'..='\u{9fff}').filter(|c| *c != '中').collect();
        assert_eq!(l.find(&text), None);
    }

    #[test]
    fn time_is_linear_in_the_text_with_many_words() {
        let words: Vec<String> = (0..10_000).map(|i| format!("词{i:05}")).collect();
        let l = WordList::new(&words);
        let text = "正常内容".repeat(10_000);
        assert_eq!(l.find(&text), None);
        assert_eq!(l.find(&format!("{text}词09999")), Some("词09999"));
    }
}
