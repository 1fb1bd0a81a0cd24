//! A phone number as WeChat returns it, normalised; shown masked to everyone but its owner.

use std::fmt;

#[derive(Clone, PartialEq, Eq)]
pub struct Phone(String);

impl Phone {
    /// Accepts 5 to 20 digits, optionally with a leading country code prefix `+`.
    pub fn parse(raw: &str) -> Result<Phone, String> {
        let trimmed = raw.trim();
        let digits = trimmed.strip_prefix('+').unwrap_or(trimmed);
        if !(5..=20).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err("expected 5 to 20 digits".to_owned());
        }
        Ok(Phone(trimmed.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `138****1234`: the first three and the last four digits stay.
    pub fn masked(&self) -> String {
        mask(&self.0)
    }
}

/// Masks a stored phone number; short numbers keep only their last two digits.
pub fn mask(phone: &str) -> String {
    let chars: Vec<char> = phone.chars().collect();
    if chars.len() >= 8 {
        let head: String = chars[..3].iter().collect();
        let tail: String = chars[chars.len() - 4..].iter().collect();
        format!("{head}****{tail}")
    } else {
        let keep = chars.len().saturating_sub(2);
        let tail: String = chars[keep..].iter().collect();
        format!("{}{tail}", "*".repeat(keep))
    }
}

impl fmt::Debug for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Phone({})", self.masked())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_like_the_mini_program() {
        assert_eq!(Phone::parse("13812341234").unwrap().masked(), "138****1234");
        assert_eq!(mask("12345"), "***45");
        assert!(Phone::parse("12ab").is_err());
        assert!(!format!("{:?}", Phone::parse("13812341234").unwrap()).contains("13812341234"));
    }
}
