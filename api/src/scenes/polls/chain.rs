//! The ballots' hash chain, pure. Each ballot stores the hash of its content and of the ballot before
//! it, so editing, dropping or reordering a ballot breaks every hash after it; the head (last sequence
//! number and hash) is published with the results, and `ehome polls verify` walks the chain, recounts,
//! and compares with the stored counted flags and the published head.
//!
//! Which ballot counts is itself a fact of the chain: the last ballot of each voter tag.

use std::collections::{BTreeMap, HashMap};

use sha2::{Digest, Sha256};

/// The hash before the first ballot.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What a ballot's hash covers.
#[derive(Debug, Clone)]
pub struct Link<'a> {
    pub poll_id: i64,
    pub seq: i64,
    pub voter_tag: &'a str,
    pub choices: &'a str,
    pub receipt: &'a str,
    pub proxy: bool,
    pub prev_hash: &'a str,
}

fn sha256_hex(parts: &[&str]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        // Length-prefixed, so that no two different lists of parts hash alike.
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part.as_bytes());
    }
    hex::encode(hasher.finalize())
}

pub fn hash(link: &Link<'_>) -> String {
    let (poll, seq) = (link.poll_id.to_string(), link.seq.to_string());
    let proxy = if link.proxy { "proxy" } else { "phone" };
    sha256_hex(&["ballot/v1", &poll, &seq, link.voter_tag, link.choices, link.receipt, proxy, link.prev_hash])
}

/// A voter's tag: equal for one voter's ballots in one poll, and meaningless without the poll's salt.
pub fn voter_tag(salt: &str, poll_id: i64, voter_key: &str) -> String {
    sha256_hex(&["voter/v1", salt, &poll_id.to_string(), voter_key])
}

/// The receipt a voter keeps: a hash of their ballot and a random nonce only they were given.
pub fn receipt(poll_id: i64, voter_tag: &str, choices: &str, nonce: &str) -> String {
    sha256_hex(&["receipt/v1", &poll_id.to_string(), voter_tag, choices, nonce])
}

/// Choices as stored: option ids, ascending, comma-separated.
pub fn encode_choices(option_ids: &[i64]) -> String {
    let mut sorted = option_ids.to_vec();
    sorted.sort_unstable();
    sorted.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
}

pub fn decode_choices(stored: &str) -> Option<Vec<i64>> {
    if stored.is_empty() {
        return Some(Vec::new());
    }
    stored.split(',').map(|id| id.parse().ok()).collect()
}

/// One stored ballot as the verifier reads it (`seq`, `prev_hash` and `hash` are unset until sealed).
#[derive(Debug, Clone)]
pub struct StoredBallot {
    pub id: i64,
    pub seq: Option<i64>,
    pub voter_tag: String,
    pub choices: String,
    pub receipt: String,
    pub proxy: bool,
    pub counted: bool,
    pub prev_hash: Option<String>,
    pub hash: Option<String>,
}

/// What walking a poll's chain found.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Recount {
    pub ballots: u64,
    pub counted: u64,
    /// Option id → votes, from the chain alone.
    pub tally: BTreeMap<i64, u64>,
    pub head_seq: i64,
    pub head_hash: String,
    /// Ballots cast but not yet sealed into the chain (counted from their order of arrival).
    pub unsealed: u64,
    /// Each problem in words (ballot id and what is wrong).
    pub problems: Vec<String>,
}

/// Walks the sealed ballots in sequence order, checks every link, then takes the unsealed ones in
/// order of arrival; recounts from the ballots alone (the last ballot of each voter counts) and
/// compares with the stored flags.
pub fn recount(poll_id: i64, ballots: &[StoredBallot]) -> Recount {
    let mut found = Recount { head_hash: GENESIS.to_owned(), ..Recount::default() };
    let mut ordered: Vec<&StoredBallot> = ballots.iter().collect();
    ordered.sort_by_key(|ballot| (ballot.seq.is_none(), ballot.seq, ballot.id));
    let mut last_of: HashMap<&str, usize> = HashMap::new();
    for (index, ballot) in ordered.iter().enumerate() {
        last_of.insert(&ballot.voter_tag, index);
        found.ballots += 1;
        let (Some(seq), Some(prev_hash), Some(stored_hash)) = (ballot.seq, &ballot.prev_hash, &ballot.hash) else {
            found.unsealed += 1;
            continue;
        };
        let expected_seq = found.head_seq + 1;
        if seq != expected_seq || found.unsealed > 0 {
            found.problems.push(format!("ballot {}: sequence {seq} where {expected_seq} was due", ballot.id));
        }
        if *prev_hash != found.head_hash {
            found.problems.push(format!("ballot {}: does not follow the ballot before it", ballot.id));
        }
        let link = Link {
            poll_id,
            seq,
            voter_tag: &ballot.voter_tag,
            choices: &ballot.choices,
            receipt: &ballot.receipt,
            proxy: ballot.proxy,
            prev_hash,
        };
        if hash(&link) != *stored_hash {
            found.problems.push(format!("ballot {}: its content does not match its hash (edited)", ballot.id));
        }
        found.head_seq = seq;
        found.head_hash = stored_hash.clone();
    }
    for (index, ballot) in ordered.iter().enumerate() {
        let counts = last_of.get(ballot.voter_tag.as_str()) == Some(&index);
        if counts != ballot.counted {
            found
                .problems
                .push(format!("ballot {}: stored counted={} but the chain says {counts}", ballot.id, ballot.counted));
        }
        if !counts {
            continue;
        }
        found.counted += 1;
        match decode_choices(&ballot.choices) {
            Some(ids) => ids.into_iter().for_each(|id| *found.tally.entry(id).or_default() += 1),
            None => found.problems.push(format!("ballot {}: unreadable choices", ballot.id)),
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(votes: &[(&str, &str)]) -> Vec<StoredBallot> {
        let mut prev = GENESIS.to_owned();
        let mut out: Vec<StoredBallot> = Vec::new();
        for (i, (tag, choices)) in votes.iter().enumerate() {
            let seq = i as i64 + 1;
            let receipt = receipt(7, tag, choices, "nonce");
            let link =
                Link { poll_id: 7, seq, voter_tag: tag, choices, receipt: &receipt, proxy: false, prev_hash: &prev };
            let hash = hash(&link);
            out.push(StoredBallot {
                id: seq,
                seq: Some(seq),
                voter_tag: (*tag).to_owned(),
                choices: (*choices).to_owned(),
                receipt,
                proxy: false,
                counted: false,
                prev_hash: Some(prev.clone()),
                hash: Some(hash.clone()),
            });
            prev = hash;
        }
        let last: HashMap<String, usize> = out.iter().enumerate().map(|(i, b)| (b.voter_tag.clone(), i)).collect();
        for (i, ballot) in out.iter_mut().enumerate() {
            ballot.counted = last[&ballot.voter_tag] == i;
        }
        out
    }

    #[test]
    fn the_last_ballot_of_a_voter_counts_and_an_edit_is_found() {
        let ballots = chain(&[("a", "1"), ("b", "2"), ("a", "2")]);
        let found = recount(7, &ballots);
        assert!(found.problems.is_empty(), "{:?}", found.problems);
        assert_eq!((found.ballots, found.counted), (3, 2));
        assert_eq!(found.tally.get(&2), Some(&2));
        assert_eq!(Some(found.head_hash.clone()), ballots[2].hash);
        let mut pending = ballots.clone();
        pending.push(StoredBallot { id: 4, seq: None, prev_hash: None, hash: None, ..ballots[1].clone() });
        pending[1].counted = false;
        let found = recount(7, &pending);
        assert!(found.problems.is_empty(), "{:?}", found.problems);
        assert_eq!((found.ballots, found.unsealed, found.counted), (4, 1, 2));

        let mut edited = ballots.clone();
        edited[1].choices = "1".to_owned();
        assert!(recount(7, &edited).problems.iter().any(|p| p.contains("edited")));
        let mut dropped = ballots;
        dropped.remove(0);
        assert!(!recount(7, &dropped).problems.is_empty());
    }

    #[test]
    fn choices_round_trip_sorted() {
        assert_eq!(encode_choices(&[3, 1]), "1,3");
        assert_eq!(decode_choices("1,3"), Some(vec![1, 3]));
        assert_eq!(decode_choices("x"), None);
    }
}
