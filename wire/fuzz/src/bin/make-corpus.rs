//! Writes the seed corpus: `cargo run --bin make-corpus` in `wire/fuzz`.
//!
//! Replaces the contents of `corpus/<target>/` with the seeds of [`kefu_wire_fuzz::seeds`]
//! (the directories hold nothing else: fuzzing runs grow their corpus outside the clone).

use std::path::Path;
use std::process::ExitCode;

fn main() -> ExitCode {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    for (target, seeds) in kefu_wire_fuzz::seeds::all() {
        let dir = root.join(target);
        let written = std::fs::remove_dir_all(&dir)
            .or_else(|e| match e.kind() {
                std::io::ErrorKind::NotFound => Ok(()),
                _ => Err(e),
            })
            .and_then(|()| std::fs::create_dir_all(&dir))
            .and_then(|()| {
                seeds
                    .iter()
                    .try_for_each(|seed| std::fs::write(dir.join(&seed.name), &seed.bytes))
            });
        if let Err(e) = written {
            eprintln!("make-corpus: {}: {e}", dir.display());
            return ExitCode::FAILURE;
        }
        println!("{}: {} seeds", dir.display(), seeds.len());
    }
    ExitCode::SUCCESS
}
