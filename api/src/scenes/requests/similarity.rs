//! Similar titles, for duplicate detection: the Jaccard index of character bigrams, which works for
//! Chinese (no word boundaries) as well as for Latin text.

/// A text's distinct bigrams, sorted (a set without hashing: titles are short, and a sorted merge
/// compares two of them in one pass).
fn bigrams(text: &str) -> Vec<(char, char)> {
    let chars: Vec<char> =
        text.chars().filter(|c| !c.is_whitespace() && !c.is_ascii_punctuation()).flat_map(char::to_lowercase).collect();
    if chars.len() == 1 {
        return vec![(chars[0], chars[0])];
    }
    let mut pairs: Vec<(char, char)> = chars.windows(2).map(|pair| (pair[0], pair[1])).collect();
    pairs.sort_unstable();
    pairs.dedup();
    pairs
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

/// A title's bigrams, made once to be compared with many titles.
pub struct Bigrams(Vec<(char, char)>);

impl Bigrams {
    pub fn of(text: &str) -> Bigrams {
        Bigrams(bigrams(text))
    }

    /// 0.0 (nothing shared) to 1.0 (same bigrams).
    pub fn similarity(&self, other: &str) -> f64 {
        let (a, b) = (&self.0, bigrams(other));
        if a.is_empty() || b.is_empty() {
            return 0.0;
        }
        let shared = shared(a, &b);
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
    }
}
