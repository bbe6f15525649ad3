//! Screening benchmark (not a timed test): 2019 SDN + non-SDN + UN loaded together.
//! Reports load time, RSS of the loaded lists, single-core screenings/s and p50/p99
//! latency.
//!
//! Run it with `cargo bench --bench screening` (an optimised build; it runs on one
//! thread, so other work on the machine lowers the numbers).

#![expect(clippy::print_stdout, reason = "a benchmark program")]

use std::path::PathBuf;
use std::time::Instant;

use kyc_gateway::checks::sanctions::lists::{ListConfig, ListSet, SourceConfig, ValidationPolicy};
use kyc_gateway::checks::sanctions::matcher::{Query, ScreeningPolicy};
use kyc_gateway::checks::sanctions::model::EntityType;

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn main() {
    let fx = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sanctions");
    let configs = [
        ListConfig {
            name: "ofac_sdn".into(),
            source: SourceConfig::OfacSdn {
                dir: fx.join("ofac_sdn_2019"),
            },
        },
        ListConfig {
            name: "ofac_non_sdn".into(),
            source: SourceConfig::OfacNonSdn {
                dir: fx.join("ofac_non_sdn"),
            },
        },
        ListConfig {
            name: "un".into(),
            source: SourceConfig::UnConsolidated {
                path: fx.join("un/UN_consolidated.xml"),
            },
        },
    ];
    let rss0 = rss_kib();
    let t = Instant::now();
    let set = ListSet::new(ValidationPolicy::default());
    let outcomes = set.reload(&configs);
    let load_ms = t.elapsed().as_secs_f64() * 1e3;
    let rss1 = rss_kib();
    let snap = set.snapshot();
    println!(
        "outcomes: {:?}",
        outcomes
            .iter()
            .map(|(n, o)| format!(
                "{n}: {}",
                matches!(
                    o,
                    kyc_gateway::checks::sanctions::lists::ReloadOutcome::Activated(_)
                )
            ))
            .collect::<Vec<_>>()
    );
    println!(
        "entries: {}, indexed names: {}",
        snap.lists().iter().map(|l| l.entries.len()).sum::<usize>(),
        snap.index().len()
    );
    println!(
        "load+validate+index: {load_ms:.0} ms; RSS growth {:.1} MiB (RSS now {:.1} MiB)",
        (rss1 - rss0) as f64 / 1024.0,
        rss1 as f64 / 1024.0
    );

    // Fixed mixed query set: listed names (exact, typo, reordered), other scripts,
    // ordinary names, companies, with and without DOB/nationality.
    let mut queries: Vec<Query> = Vec::new();
    let listed: Vec<String> = snap
        .lists()
        .iter()
        .flat_map(|l| {
            l.entries
                .iter()
                .step_by(97)
                .map(|e| e.primary_name().to_owned())
        })
        .collect();
    for (i, n) in listed.iter().enumerate() {
        queries.push(Query {
            name: n.clone(),
            ..Query::default()
        });
        let mut typo: Vec<char> = n.chars().collect();
        if typo.len() > 4 {
            typo.swap(2, 3);
        }
        queries.push(Query {
            name: typo.into_iter().collect(),
            entity_type: if i % 2 == 0 {
                Some(EntityType::Individual)
            } else {
                None
            },
            ..Query::default()
        });
    }
    for n in [
        "John Smith",
        "Maria Garcia",
        "Wei Zhang",
        "Anna Müller",
        "Mohammed Ali",
        "Дмитрий Хорошев",
        "عزت إبراهيم الدوري",
        "Acme Trading Company LLC",
        "Global Holding GmbH",
        "Ivan Petrov",
        "Ahmed Hassan",
        "Juan Carlos Rodriguez",
        "Zawahiri Ayman",
        "Banco Nacional de Cuba",
    ] {
        queries.push(Query {
            name: n.into(),
            nationality: Some("RU".into()),
            birth_date: kyc_gateway::checks::sanctions::model::PartialDate::new(1970, None, None),
            ..Query::default()
        });
        queries.push(Query {
            name: n.into(),
            ..Query::default()
        });
    }
    let policy = ScreeningPolicy::default();
    for q in &queries {
        let _ = set.screen(q, &policy);
    } // warm-up
    let rounds = 20;
    let mut lat = Vec::with_capacity(queries.len() * rounds);
    let mut matches = 0usize;
    let t = Instant::now();
    for _ in 0..rounds {
        for q in &queries {
            let s = Instant::now();
            if let Ok(r) = snap.screen(q, &policy) {
                matches += r.matches.len();
            }
            lat.push(s.elapsed().as_secs_f64() * 1e6);
        }
    }
    let total = t.elapsed().as_secs_f64();
    lat.sort_by(f64::total_cmp);
    let pct = |p: f64| lat[((lat.len() as f64 - 1.0) * p) as usize];
    println!(
        "queries: {} x {rounds} rounds, matches returned {matches}",
        queries.len()
    );
    println!(
        "one core: {:.0} screenings/s; latency p50 {:.0} us, p99 {:.0} us, max {:.0} us",
        lat.len() as f64 / total,
        pct(0.5),
        pct(0.99),
        pct(1.0)
    );
}
