//! `cargo run --release -p liaison-geo --example geo_bench -- gen DIR [small|full|SITES ZONES ACTIVES QUERIES] [SEED]`
//! `cargo run --release -p liaison-geo --example geo_bench -- run DIR OUT.jsonl`
use std::path::Path;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("gen") if args.len() >= 2 => {
            let dir = Path::new(&args[1]);
            let mut sizes = liaison_geo::workload::Sizes::default();
            let mut seed = 1;
            match args.get(2).map(String::as_str) {
                Some("small") => sizes = liaison_geo::workload::Sizes::small(),
                Some("full") | None => {}
                Some(_) if args.len() >= 6 => {
                    sizes = liaison_geo::workload::Sizes {
                        sites: args[2].parse()?,
                        zones: args[3].parse()?,
                        actives: args[4].parse()?,
                        queries: args[5].parse()?,
                    };
                    if let Some(s) = args.get(6) {
                        seed = s.parse()?;
                    }
                }
                Some(_) => return Err("bad sizes".into()),
            }
            if args.len() == 4 {
                seed = args[3].parse()?;
            }
            liaison_geo::workload::generate(dir, seed, &sizes)?;
            Ok(())
        }
        Some("run") if args.len() >= 3 => {
            let f = liaison_geo::bench::run(Path::new(&args[1]), Path::new(&args[2]))?;
            println!("{f:?}");
            Ok(())
        }
        _ => Err("usage: gen DIR [small|full|S Z A Q [SEED]] [SEED] | run DIR OUT".into()),
    }
}
