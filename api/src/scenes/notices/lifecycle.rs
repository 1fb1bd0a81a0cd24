//! A notice has no states to move through once published; what it has is an importance, which decides
//! whether building leaders follow it up door to door.

use crate::stored_enum;

stored_enum! {
    pub enum Importance {
        Normal => "normal",
        Important => "important",
        Urgent => "urgent",
    }
}

impl Importance {
    /// The word a subscribe message shows (≤ 5 characters).
    pub fn label(self) -> &'static str {
        match self {
            Importance::Normal => "通知",
            Importance::Important => "重要通知",
            Importance::Urgent => "紧急通知",
        }
    }

    /// Whether every household must be reached: read on a phone or told in person.
    pub fn needs_follow_up(self) -> bool {
        matches!(self, Importance::Important | Importance::Urgent)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_important_and_urgent_notices_are_followed_up() {
        assert!(!Importance::Normal.needs_follow_up());
        assert!(Importance::Important.needs_follow_up());
        assert!(Importance::Urgent.needs_follow_up());
        assert!(Importance::ALL.iter().all(|i| i.label().chars().count() <= 5));
    }
}
