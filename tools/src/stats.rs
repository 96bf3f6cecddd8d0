//! `kefuctl stats`: the daemon's per-shard counters and uptime; with `--prometheus`
//! every metric, as the daemon's Prometheus text (`AdminMetrics`).

use crate::admin::{unexpected, Admin};
use crate::cli::StatsArgs;
use crate::output::{json_array, Obj, Table};
use anyhow::Result;
use kefu_wire::{Request, Response, ShardStats};
use std::io::Write;
use std::path::Path;

/// Runs `kefuctl stats`.
pub fn run(socket: &Path, args: &StatsArgs, out: &mut dyn Write) -> Result<()> {
    let mut admin = Admin::connect(socket)?;
    if args.prometheus {
        return match admin.request(&Request::AdminMetrics)? {
            Response::Metrics { text } => {
                out.write_all(text.as_bytes())?;
                Ok(())
            }
            other => Err(unexpected("AdminMetrics", &other)),
        };
    }
    let (uptime_s, shards) = match admin.request(&Request::AdminStats)? {
        Response::Stats { uptime_s, shards } => (uptime_s, shards),
        other => return Err(unexpected("AdminStats", &other)),
    };
    if args.json {
        let json = Obj::new()
            .num("uptime_s", uptime_s)
            .raw("shards", &json_array(shards.iter().map(shard_json)))
            .finish();
        writeln!(out, "{json}")?;
        return Ok(());
    }
    writeln!(out, "uptime: {}", format_uptime(uptime_s))?;
    let mut table = Table::new(&[
        ">shard",
        ">connections",
        ">sessions",
        ">accounts",
        ">frames in",
        ">frames out",
    ]);
    let mut total = ShardStats {
        shard: 0,
        connections: 0,
        sessions: 0,
        accounts: 0,
        frames_in: 0,
        frames_out: 0,
    };
    for s in &shards {
        table.row(row(s.shard.to_string(), s));
        total.connections = total.connections.saturating_add(s.connections);
        total.sessions = total.sessions.saturating_add(s.sessions);
        total.accounts = total.accounts.saturating_add(s.accounts);
        total.frames_in = total.frames_in.saturating_add(s.frames_in);
        total.frames_out = total.frames_out.saturating_add(s.frames_out);
    }
    if shards.len() > 1 {
        table.row(row("total".into(), &total));
    }
    table.write(out)?;
    Ok(())
}

fn row(label: String, s: &ShardStats) -> Vec<String> {
    vec![
        label,
        s.connections.to_string(),
        s.sessions.to_string(),
        s.accounts.to_string(),
        s.frames_in.to_string(),
        s.frames_out.to_string(),
    ]
}

fn shard_json(s: &ShardStats) -> String {
    Obj::new()
        .num("shard", s.shard)
        .num("connections", s.connections)
        .num("sessions", s.sessions)
        .num("accounts", s.accounts)
        .num("frames_in", s.frames_in)
        .num("frames_out", s.frames_out)
        .finish()
}

/// `3d 04:05:06` style.
fn format_uptime(secs: u64) -> String {
    let (d, h, m, s) = (secs / 86_400, secs / 3600 % 24, secs / 60 % 60, secs % 60);
    if d > 0 {
        format!("{d}d {h:02}:{m:02}:{s:02}")
    } else {
        format!("{h:02}:{m:02}:{s:02}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uptime_formats() {
        assert_eq!(format_uptime(0), "00:00:00");
        assert_eq!(format_uptime(3_661), "01:01:01");
        assert_eq!(
            format_uptime(3 * 86_400 + 4 * 3600 + 5 * 60 + 6),
            "3d 04:05:06"
        );
    }
}
