//! The words of an hour record: its kind, its status and its flags, stored as text. A record is
//! never changed once written, so there is no state machine: an attendance is undecided until its
//! `original` record exists, and every later change is an `adjustment` naming the record it corrects.

use crate::stored_enum;

stored_enum! {
    /// The first decision about a sign-up, or a correction of the latest one.
    pub enum Kind { Original => "original", Adjustment => "adjustment" }
}

stored_enum! {
    /// Whether the hours count.
    pub enum RecordStatus { Approved => "approved", Declined => "declined" }
}

stored_enum! {
    /// What the organiser should know about a record, stored as a comma-separated list.
    pub enum Flag {
        /// Attended under 60% of the scheduled duration.
        ShortAttendance => "short_attendance",
        /// Never checked in.
        NoCheckin => "no_checkin",
        /// Checked in, never checked out (and not checked out by the job).
        NoCheckout => "no_checkout",
        /// Checked out by the job at the scheduled end.
        AutoCheckout => "auto_checkout",
        /// Checked in or out outside the activity's radius.
        OutsideRadius => "outside_radius",
        /// Minutes above the per-volunteer daily cap were recorded but not credited.
        DailyCap => "daily_cap",
        /// Minutes above the activity's duration were recorded but not credited.
        ActivityCap => "activity_cap",
    }
}

/// The stored form of flags: known words in order, no duplicates.
pub fn flags_text(flags: &[Flag]) -> String {
    let mut sorted: Vec<Flag> = flags.to_vec();
    sorted.sort();
    sorted.dedup();
    sorted.iter().map(|f| f.as_str()).collect::<Vec<_>>().join(",")
}

/// Flags from stored text; unknown words (a flag of the activities scene this scene does not know)
/// are left out.
pub fn parse_flags(text: Option<&str>) -> Vec<Flag> {
    text.unwrap_or_default().split(',').filter_map(|word| Flag::parse(word.trim())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_round_trip_through_their_text() {
        let text = flags_text(&[Flag::DailyCap, Flag::ShortAttendance, Flag::DailyCap]);
        assert_eq!(text, "short_attendance,daily_cap");
        assert_eq!(parse_flags(Some(&text)), vec![Flag::ShortAttendance, Flag::DailyCap]);
        assert_eq!(parse_flags(Some("auto_checkout, something_new")), vec![Flag::AutoCheckout]);
        assert!(parse_flags(None).is_empty());
        assert_eq!(flags_text(&[]), "");
    }
}
