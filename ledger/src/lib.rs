//! Double-entry ledger.
