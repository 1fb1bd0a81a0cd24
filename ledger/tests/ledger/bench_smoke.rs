//! The bench driver runs in each mode against a test database and leaves a verifiable book behind.
//! No timing is asserted.

use std::time::Duration;

use ehome_ledger::{BenchConfig, BenchMode, run_bench};

use crate::support::TestDb;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bench_runs_in_every_mode_and_the_book_verifies() {
    let t = TestDb::with_pool(8).await;
    for mode in [BenchMode::Uniform, BenchMode::Hot, BenchMode::Batched] {
        let mut config = BenchConfig::new(4, Duration::from_millis(700), mode);
        config.accounts = 20;
        config.in_flight = 2;
        let report = run_bench(&t.db, &config).await.unwrap();
        assert!(report.transfers > 0, "{report}");
        assert!(report.p50_ms <= report.p99_ms && report.p99_ms <= report.max_ms, "{report}");
        eprintln!("{report}");
    }
    let verified = t.ledger().verify(&mut |_, _| {}).await.unwrap();
    assert!(verified.is_clean(), "{verified}");
}
