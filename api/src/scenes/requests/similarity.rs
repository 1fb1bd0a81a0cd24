//! Similar titles, for duplicate detection: the Jaccard index of character bigrams, which works for
//! Chinese (no word boundaries) as well as for Latin text.

use std::ops::RangeInclusive;

/// CJK radicals, punctuation, kana, Bopomofo, Hangul compatibility jamo and the unified ideographs
/// (with extension A): no character here has a lowercase form other than itself (a test checks), so
/// most of a Chinese title skips the Unicode case tables.
const CASELESS: RangeInclusive<char> = '\u{2E80}'..='\u{9FFF}';

/// Writes a text's distinct bigrams, sorted, into `pairs` (a set without hashing: titles are short, and
/// a sorted merge compares two of them in one pass). Whitespace and ASCII punctuation are left out and
/// letters lowercased; a text of one character is the pair of it with itself.
fn bigrams_into(text: &str, pairs: &mut Vec<(char, char)>) {
    pairs.clear();
    let mut previous: Option<char> = None;
    let mut push = |c: char| {
        if let Some(before) = previous {
            pairs.push((before, c));
        }
        previous = Some(c);
    };
    for c in text.chars().filter(|c| !c.is_whitespace() && !c.is_ascii_punctuation()) {
        if c.is_ascii() {
            push(c.to_ascii_lowercase());
        } else if CASELESS.contains(&c) {
            push(c);
        } else {
            c.to_lowercase().for_each(&mut push);
        }
    }
    if let (true, Some(only)) = (pairs.is_empty(), previous) {
        pairs.push((only, only));
    }
    pairs.sort_unstable();
    pairs.dedup();
}

/// How many values two sorted, distinct lists share.
fn shared(a: &[(char, char)], b: &[(char, char)]) -> usize {
    let (mut i, mut j, mut count) = (0, 0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                count += 1;
                i += 1;
                j += 1;
            }
        }
    }
    count
}

/// A title's bigrams, made once to be compared with many titles (whose bigrams are written into one
/// reused buffer, so comparing the 200 candidates of a report allocates nothing per candidate).
pub struct Bigrams {
    wanted: Vec<(char, char)>,
    other: Vec<(char, char)>,
}

impl Bigrams {
    pub fn of(text: &str) -> Bigrams {
        let mut wanted = Vec::new();
        bigrams_into(text, &mut wanted);
        Bigrams { wanted, other: Vec::new() }
    }

    /// 0.0 (nothing shared) to 1.0 (same bigrams).
    pub fn similarity(&mut self, other: &str) -> f64 {
        bigrams_into(other, &mut self.other);
        let (a, b) = (&self.wanted, &self.other);
        if a.is_empty() || b.is_empty() {
            return 0.0;
        }
        let shared = shared(a, b);
        let all = a.len() + b.len() - shared;
        shared as f64 / all as f64
    }
}

/// Titles at least this similar are offered as possible duplicates.
pub const THRESHOLD: f64 = 0.3;

#[cfg(test)]
mod tests {
    use super::*;

    fn similarity(a: &str, b: &str) -> f64 {
        Bigrams::of(a).similarity(b)
    }

    #[test]
    fn similar_chinese_titles_match() {
        assert!(similarity("3号楼楼道灯坏了", "3号楼的楼道灯坏了") > THRESHOLD);
        assert!(similarity("楼道灯不亮", "楼道灯坏了不亮") > THRESHOLD);
        assert!(similarity("楼道灯不亮", "下水道堵塞") < THRESHOLD);
        assert_eq!(similarity("", "abc"), 0.0);
        assert_eq!(similarity("楼道灯", "楼道灯楼道灯"), 2.0 / 3.0, "repeated bigrams count once");
        assert_eq!(similarity("a", "A"), 1.0);
        assert_eq!(similarity("Ａ", "ａ"), 1.0, "fullwidth letters are lowercased too");
    }

    #[test]
    fn the_caseless_range_has_no_lowercase_forms() {
        for c in CASELESS {
            assert!(c.to_lowercase().eq([c]), "{c:?} (U+{:04X}) lowercases to something else", c as u32);
        }
    }

    /// The plain definition: every character lowercased through the Unicode tables, then every pair.
    fn bigrams_by_definition(text: &str) -> Vec<(char, char)> {
        let chars: Vec<char> = text
            .chars()
            .filter(|c| !c.is_whitespace() && !c.is_ascii_punctuation())
            .flat_map(char::to_lowercase)
            .collect();
        let mut pairs: Vec<(char, char)> = match chars.as_slice() {
            [only] => vec![(*only, *only)],
            _ => chars.windows(2).map(|pair| (pair[0], pair[1])).collect(),
        };
        pairs.sort_unstable();
        pairs.dedup();
        pairs
    }

    #[test]
    fn bigrams_follow_the_definition() {
        let texts = [
            "",
            "灯",
            "İ",
            "3号楼 楼道灯坏了！！",
            "ǅungla Ǆ ǆ",
            "ΣΊΣΥΦΟΣ straße",
            "ＡＢＣ全角ａｂｃ",
            "１号楼，2单元（东）",
            "Hello, 世界 — ÀÉÎ",
            "ㄅㄆㄇ ㄱㄴ ｶﾀｶﾅ カタカナ",
            " \t\n ",
        ];
        let mut pairs = Vec::new();
        for text in texts {
            bigrams_into(text, &mut pairs);
            assert_eq!(pairs, bigrams_by_definition(text), "{text:?}");
        }
    }
}
