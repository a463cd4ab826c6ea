//! The Microsoft Graph simulator of the tests (`tests/graph_sim.rs`) as a program, for
//! `scripts/bench`:
//!
//!   cargo run --release --example graph_sim -- [--throttle-every N] [--seats N]
//!
//! Prints `URL http://127.0.0.1:PORT` and `SECRET ...` once it listens, serves until its
//! standard input closes, then prints the requests it answered: `REQUESTS n`, `BATCHES
//! n`, `ITEMS n`, `THROTTLED n` (429s, of requests and of batch items), `CREATES n` (users created) and `TWICE n` (users
//! created more than once).

#[path = "../tests/graph_sim.rs"]
mod graph_sim;

use std::io::Read;

fn main() {
    let mut options = graph_sim::Options::default();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut number = || -> u64 {
            args.next()
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("{a} needs a number"))
        };
        match a.as_str() {
            "--throttle-every" => options.throttle_every = number(),
            "--seats" => options.seats = Some(number()),
            other => panic!("unknown option {other}"),
        }
    }
    let sim = graph_sim::GraphSim::start(options);
    println!("URL {}", sim.url);
    println!("SECRET {}", graph_sim::SECRET);
    println!(
        "GRAPH_TABLE_START\n{}GRAPH_TABLE_END",
        sim.graph_table("ONBOARD_GRAPH_SECRET")
    );
    let mut sink = Vec::new();
    let _ = std::io::stdin().read_to_end(&mut sink);
    let log = sim.log();
    let batches: Vec<_> = log.iter().filter(|l| l.path == "/v1.0/$batch").collect();
    let creates = sim.creates();
    println!("REQUESTS {}", log.len());
    println!("BATCHES {}", batches.len());
    println!(
        "ITEMS {}",
        batches.iter().map(|b| b.items.len()).sum::<usize>()
    );
    println!(
        "THROTTLED {}",
        sim.throttled_items() + log.iter().filter(|l| l.status == 429).count() as u64
    );
    println!("CREATES {}", creates.len());
    println!("TWICE {}", creates.values().filter(|&&n| n > 1).count());
}
