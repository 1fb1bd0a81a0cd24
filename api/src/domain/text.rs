//! Short user-supplied names.

use crate::platform::error::ApiError;

fn clean(field: &str, raw: &str, max_chars: usize) -> Result<String, ApiError> {
    let text = raw.trim();
    let count = text.chars().count();
    if count == 0 {
        return Err(ApiError::validation(field, "must not be empty"));
    }
    if count > max_chars {
        return Err(ApiError::validation(field, format!("at most {max_chars} characters")));
    }
    if text.chars().any(char::is_control) {
        return Err(ApiError::validation(field, "must not contain control characters"));
    }
    Ok(text.to_owned())
}

/// A display name: 1 to 32 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Nickname(String);

impl Nickname {
    pub fn parse(raw: &str) -> Result<Nickname, ApiError> {
        clean("nickname", raw, 32).map(Nickname)
    }
    pub fn into_inner(self) -> String {
        self.0
    }
}

/// The name of a place (community, grid, building, household): 1 to 64 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Label(String);

impl Label {
    pub fn parse(field: &str, raw: &str) -> Result<Label, ApiError> {
        clean(field, raw, 64).map(Label)
    }
    pub fn into_inner(self) -> String {
        self.0
    }
}
