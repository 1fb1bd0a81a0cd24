//! Counting, pure: votes per option from the counted ballots, turnout, and the ranking an election
//! reads its winners from.

use std::collections::BTreeMap;

use ehome_entities::{poll_ballot, poll_option};

use super::chain;

/// One option with its votes.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct OptionTally {
    pub option_id: i64,
    pub position: i32,
    pub label: String,
    /// The person the option stands for, in an election.
    pub subject_id: Option<i64>,
    pub votes: u64,
}

/// Votes per option, in the options' order.
pub fn per_option(options: &[poll_option::Model], counted: &[poll_ballot::Model]) -> Vec<OptionTally> {
    let mut votes: BTreeMap<i64, u64> = BTreeMap::new();
    for ballot in counted {
        for id in chain::decode_choices(&ballot.choices).unwrap_or_default() {
            *votes.entry(id).or_default() += 1;
        }
    }
    options
        .iter()
        .map(|option| OptionTally {
            option_id: option.id,
            position: option.position,
            label: option.label.clone(),
            subject_id: option.subject_id,
            votes: votes.get(&option.id).copied().unwrap_or(0),
        })
        .collect()
}

/// The first `seats` options by votes (ties by position), and whether the option just past the cut
/// has as many votes as the last one in (a tie the caller must break, for example by a run-off).
pub fn winners(tallies: &[OptionTally], seats: usize) -> (Vec<OptionTally>, bool) {
    let mut ranked = tallies.to_vec();
    ranked.sort_by(|a, b| b.votes.cmp(&a.votes).then(a.position.cmp(&b.position)));
    let tie_at_cut = match (seats.checked_sub(1).and_then(|last| ranked.get(last)), ranked.get(seats)) {
        (Some(last_in), Some(first_out)) => last_in.votes == first_out.votes && last_in.votes > 0,
        _ => false,
    };
    ranked.truncate(seats);
    ranked.retain(|tally| tally.votes > 0);
    (ranked, tie_at_cut)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tally(option_id: i64, votes: u64) -> OptionTally {
        OptionTally { option_id, position: option_id as i32, label: String::new(), subject_id: None, votes }
    }

    #[test]
    fn winners_by_votes_with_a_tie_flag() {
        let tallies = [tally(1, 2), tally(2, 5), tally(3, 2), tally(4, 0)];
        let (won, tie) = winners(&tallies, 1);
        assert_eq!((won[0].option_id, tie), (2, false));
        let (won, tie) = winners(&tallies, 2);
        assert_eq!(won.iter().map(|t| t.option_id).collect::<Vec<_>>(), vec![2, 1]);
        assert!(tie);
        let (won, _) = winners(&tallies, 4);
        assert_eq!(won.len(), 3, "no one wins with no votes");
    }
}
