//! User-supplied text, validated once. One rule for every field: no control characters (newline and
//! tab only where the field is multi-line), no bidirectional overrides or isolates (which make text
//! display differently from what it is), and not empty once whitespace and invisible characters are
//! trimmed; then a length in characters. Each kind of text is a type with its limit beside it.

use crate::platform::error::ApiError;

pub const TITLE_CHARS_MAX: usize = 60;
pub const DESCRIPTION_CHARS_MAX: usize = 1000;
pub const NOTE_CHARS_MAX: usize = 500;
pub const RATING_TEXT_CHARS_MAX: usize = 200;
pub const LOCATION_CHARS_MAX: usize = 100;
pub const NICKNAME_CHARS_MAX: usize = 32;
pub const LABEL_CHARS_MAX: usize = 64;
pub const SEARCH_CHARS_MAX: usize = 60;

/// Bidirectional embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069).
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Characters that show nothing: zero-width spaces and joiners, the word joiner, the byte-order mark,
/// and the left-to-right/right-to-left marks.
fn is_invisible(c: char) -> bool {
    c.is_whitespace() || matches!(c, '\u{200B}'..='\u{200F}' | '\u{2060}' | '\u{FEFF}' | '\u{180E}')
}

/// Checks raw text against the rule and returns it trimmed; `Ok(None)` when it is empty or only
/// whitespace (the caller decides whether that is allowed). Text of invisible characters only is
/// refused: it looks empty and is not.
fn clean(field: &str, raw: &str, chars_max: usize, multiline: bool) -> Result<Option<String>, ApiError> {
    let allowed_control = |c: char| multiline && (c == '\n' || c == '\t');
    if raw.chars().any(|c| c.is_control() && !allowed_control(c)) {
        let rule = if multiline { "no control characters other than newline and tab" } else { "no control characters" };
        return Err(ApiError::validation(field, rule));
    }
    if raw.chars().any(is_bidi_control) {
        return Err(ApiError::validation(field, "no bidirectional override characters"));
    }
    if raw.trim().is_empty() {
        return Ok(None);
    }
    let text = raw.trim_matches(is_invisible);
    if text.is_empty() {
        return Err(ApiError::validation(field, "must show something: only invisible characters"));
    }
    if text.chars().count() > chars_max {
        return Err(ApiError::validation(field, format!("at most {chars_max} characters")));
    }
    Ok(Some(text.to_owned()))
}

macro_rules! text_types {
    ($($(#[$meta:meta])* $name:ident: $chars_max:expr, multiline = $multiline:expr;)+) => {$(
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $name(String);

        impl $name {
            pub const CHARS_MAX: usize = $chars_max;

            /// Required text: empty (after trimming) is refused.
            pub fn parse(field: &str, raw: &str) -> Result<$name, ApiError> {
                match clean(field, raw, $chars_max, $multiline)? {
                    Some(text) => Ok($name(text)),
                    None => Err(ApiError::validation(field, format!("1 to {} characters", $chars_max))),
                }
            }

            /// Optional text: absent or empty (after trimming) is `None`.
            pub fn parse_optional(field: &str, raw: Option<&str>) -> Result<Option<$name>, ApiError> {
                match raw {
                    None => Ok(None),
                    Some(raw) => Ok(clean(field, raw, $chars_max, $multiline)?.map($name)),
                }
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }

            pub fn into_inner(self) -> String {
                self.0
            }
        }
    )+};
}

text_types! {
    /// A request's (or later a post's, an activity's) title: one line.
    Title: TITLE_CHARS_MAX, multiline = false;
    /// A longer description: several lines.
    Description: DESCRIPTION_CHARS_MAX, multiline = true;
    /// A note, a reason, a comment: several lines.
    Note: NOTE_CHARS_MAX, multiline = true;
    /// The words of a rating.
    RatingText: RATING_TEXT_CHARS_MAX, multiline = true;
    /// Where something is, in words ("3单元楼道", "东门口").
    Location: LOCATION_CHARS_MAX, multiline = false;
    /// The name of a place (community, grid, building, household) or of a category.
    Label: LABEL_CHARS_MAX, multiline = false;
    /// Words to search for.
    SearchText: SEARCH_CHARS_MAX, multiline = false;
}

/// A display name: 1 to 32 characters on one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Nickname(String);

impl Nickname {
    pub fn parse(raw: &str) -> Result<Nickname, ApiError> {
        match clean("nickname", raw, NICKNAME_CHARS_MAX, false)? {
            Some(text) => Ok(Nickname(text)),
            None => Err(ApiError::validation("nickname", format!("1 to {NICKNAME_CHARS_MAX} characters"))),
        }
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_rule_for_every_text() {
        assert_eq!(Title::parse("title", "  楼道灯坏了 ").unwrap().as_str(), "楼道灯坏了");
        for bad in ["a\u{0}b", "a\u{7}", "abc\u{202E}cba", "\u{2066}x", "\u{200B}\u{200B}", " \u{FEFF} ", "", "a\nb"] {
            assert!(Title::parse("title", bad).is_err(), "{bad:?} is refused as a title");
        }
        assert!(Description::parse("description", "第一行\n第二行\t缩进").is_ok());
        assert!(Description::parse("description", "a\rb").is_err());
        assert_eq!(Note::parse_optional("note", Some("  ")).unwrap(), None);
        assert!(Note::parse_optional("note", Some(" \u{200B} ")).is_err());
        assert!(Title::parse("title", &"字".repeat(TITLE_CHARS_MAX)).is_ok());
        assert!(Title::parse("title", &"字".repeat(TITLE_CHARS_MAX + 1)).is_err());
    }
}
