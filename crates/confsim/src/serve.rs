//! `confsim serve`: the HTTP gateway (product.md §6). Parses and checks the flags, loads the
//! platform file (and the TLS certificate and key, if given), binds (loopback unless told),
//! opens the journal, prints the seed and the address, and serves until Ctrl-C; then flushes
//! the journal and prints its summary.
//!
//! An existing `--journal` file is continued, never overwritten: its torn tail (a crash
//! mid-write) is reported and cut off, the platform is rebuilt from its records, and the
//! session goes on from its last record with the next `seq` (`Gateway::resume`).

use anyhow::{Context, Result, bail};
use clap::ValueEnum;
use confsim_core::{SimDuration, SimTime};
use confsim_gateway::{ClockMode, ExistingJournal, Fsync, GatewayConfig, GuidMode, GuidPolicy};
use std::fs::File;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum ServeClock {
    /// Real time, scaled by --speed.
    Wall,
    /// Moves only through POST /simulator/clock/advance.
    Manual,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum GuidModeArg {
    /// One Guid per sign-in, for the whole session (what the vendor's demo clients expect).
    Static,
    /// A new Guid every --guid-interval-ms on the polling response's Set-GUID.
    Dynamic,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum FsyncArg {
    /// Every journaled answer waits for its own fdatasync (one sync per input).
    Always,
    /// Group commit: answers wait for a shared fdatasync (durable, and throughput holds).
    Batch,
    /// Written to the operating system before answering, never synced: survives a killed
    /// process, not a stopped machine.
    Never,
}

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on (loopback unless you say otherwise).
    #[arg(long, default_value = "127.0.0.1:8043")]
    addr: SocketAddr,
    /// How simulated time passes.
    #[arg(long, value_enum, default_value_t = ServeClock::Wall)]
    clock: ServeClock,
    /// With --clock wall: simulated time runs this many times faster than real time.
    #[arg(long, value_name = "X")]
    speed: Option<f64>,
    /// The root seed of the platform's draws.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// The simulated start (RFC 3339). Default: the present (wall clock), or
    /// 2026-01-05T09:00:00Z (manual clock, the scenarios' default start).
    #[arg(long, value_name = "RFC3339")]
    start: Option<String>,
    /// The platform: {"platform": {...a scenario's platform...}, "agents": [{"ids", "password", "inspector"}]}.
    #[arg(long, value_name = "FILE.json")]
    platform: Option<PathBuf>,
    /// Write the journal (JSON Lines) to this file. An existing journal is continued (its
    /// torn tail cut off, the platform rebuilt from it), never overwritten.
    #[arg(long, value_name = "FILE")]
    journal: Option<PathBuf>,
    /// When an answer may leave: after its journal records are synced to disk one by one
    /// (always), after a sync shared with the requests around it (batch), or once they are
    /// written to the operating system (never).
    #[arg(long, value_enum, default_value_t = FsyncArg::Batch)]
    fsync: FsyncArg,
    /// How long (real time) a poll with no event is held before the empty answer.
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    poll_wait_ms: u64,
    /// Also accept what the vendor's demo clients send: PUT or DELETE for the POST
    /// operations, prolongTime and destWorkNo as query parameters.
    #[arg(long)]
    lenient: bool,
    /// The vendor's authentication mode (AUTHMODE 1 static, 2 dynamic).
    #[arg(long, value_enum, default_value_t = GuidModeArg::Static)]
    guid_mode: GuidModeArg,
    /// Dynamic mode: a Guid is replaced once it is this old (simulated ms; GUIDINTERVAL).
    #[arg(long, value_name = "N", default_value_t = 60_000)]
    guid_interval_ms: u64,
    /// A Guid is accepted at least this long after its issue (simulated ms; GUIDTIMEOUT).
    #[arg(long, value_name = "N", default_value_t = 120_000)]
    guid_timeout_ms: u64,
    /// Sign out an agent that sends nothing for this long (simulated ms; MAXTIME); 0: never.
    #[arg(long, value_name = "N", default_value_t = 120_000)]
    inactivity_ms: u64,
    /// Events held per agent for polling before the oldest are dropped.
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    queue_capacity: usize,
    /// Serve HTTPS with this PEM certificate chain (with --tls-key).
    #[arg(long, value_name = "CERT.pem", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The PEM private key of --tls-cert.
    #[arg(long, value_name = "KEY.pem", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Journal kept in memory for GET /simulator/journal, in MiB.
    #[arg(long, value_name = "MB", default_value_t = 256)]
    journal_memory_mb: usize,
}

/// The `--journal` file: a new one, or an existing one to continue.
enum Journal {
    New(File),
    Existing(Box<ExistingJournal>),
}

fn open_journal(path: &Path) -> Result<Journal> {
    match std::fs::metadata(path) {
        // Created by a server that stopped before writing its header: nothing to continue.
        Ok(meta) if meta.is_file() && meta.len() == 0 => {
            let file = File::options()
                .write(true)
                .open(path)
                .with_context(|| format!("{}: cannot open the journal", path.display()))?;
            Ok(Journal::New(file))
        }
        Ok(_) => {
            let existing = ExistingJournal::open(path).with_context(|| {
                format!(
                    "{}: cannot continue this journal (it is left as it is)",
                    path.display()
                )
            })?;
            Ok(Journal::Existing(Box::new(existing)))
        }
        Err(_) => File::options()
            .write(true)
            .create_new(true)
            .open(path)
            .map(Journal::New)
            .with_context(|| format!("{}: cannot create the journal", path.display())),
    }
}

/// Reports what resuming `existing` found, and the flags its header overrides.
fn report_resume(existing: &ExistingJournal, config: &GatewayConfig, start_given: bool) {
    let path = existing.path.display();
    if let Some(torn) = &existing.torn {
        eprintln!(
            "confsim: {path}: line {} was torn ({} bytes without their newline: a crash mid-write); cut off, {} complete records kept",
            torn.line,
            torn.bytes,
            existing.records.len()
        );
    }
    let header = &existing.header;
    if header.seed != config.seed {
        eprintln!(
            "confsim: {path}: the journal's seed {} is kept (--seed {} ignored)",
            header.seed, config.seed
        );
    }
    if start_given && header.start != config.start {
        eprintln!(
            "confsim: {path}: the journal's start {} is kept (--start ignored)",
            header.start
        );
    }
    if header.platform != config.platform || header.agents != config.agents {
        eprintln!(
            "confsim: {path}: the journal's platform and roster are kept (--platform ignored where it differs)"
        );
    }
}

fn config(args: &ServeArgs) -> Result<GatewayConfig> {
    let clock = match (args.clock, args.speed) {
        (ServeClock::Manual, Some(_)) => {
            bail!("--speed applies to the wall clock: drop it or use --clock wall")
        }
        (ServeClock::Manual, None) => ClockMode::Manual,
        (ServeClock::Wall, speed) => ClockMode::Wall {
            speed: speed.unwrap_or(1.0),
        },
    };
    let start = match (&args.start, clock) {
        (Some(text), _) => SimTime::parse_rfc3339(text).with_context(|| {
            format!("--start {text:?} is not an RFC 3339 time such as 2026-01-05T09:00:00Z")
        })?,
        (None, ClockMode::Manual) => GatewayConfig::default().start,
        (None, ClockMode::Wall { .. }) => confsim_gateway::present(),
    };
    let (platform, agents) = match &args.platform {
        Some(file) => confsim_gateway::load_platform_file(file)?,
        None => Default::default(),
    };
    let config = GatewayConfig {
        seed: args.seed,
        start,
        clock,
        platform,
        agents,
        poll_wait: Duration::from_millis(args.poll_wait_ms),
        guid: GuidPolicy {
            mode: match args.guid_mode {
                GuidModeArg::Static => GuidMode::Static,
                GuidModeArg::Dynamic => GuidMode::Dynamic,
            },
            interval: SimDuration::from_millis(args.guid_interval_ms),
            timeout: SimDuration::from_millis(args.guid_timeout_ms),
        },
        inactivity: (args.inactivity_ms > 0).then(|| SimDuration::from_millis(args.inactivity_ms)),
        lenient: args.lenient,
        queue_capacity: args.queue_capacity,
        journal_memory_bytes: args.journal_memory_mb.saturating_mul(1 << 20),
        fsync: match args.fsync {
            FsyncArg::Always => Fsync::Always,
            FsyncArg::Batch => Fsync::Batch,
            FsyncArg::Never => Fsync::Never,
        },
        ..GatewayConfig::default()
    };
    config.check()?;
    Ok(config)
}

pub fn serve(args: ServeArgs) -> Result<ExitCode> {
    let config = config(&args)?;
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(confsim_gateway::tls_acceptor(cert, key)?),
        _ => None,
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .try_init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let clock = match config.clock {
        ClockMode::Wall { speed } => format!("wall (speed {speed})"),
        ClockMode::Manual => "manual".to_owned(),
    };
    runtime.block_on(async move {
        // Bind before creating the journal, so a busy port leaves no empty journal behind.
        let listener = tokio::net::TcpListener::bind(args.addr)
            .await
            .with_context(|| format!("cannot listen on {}", args.addr))?;
        let gateway = match args.journal.as_deref().map(open_journal).transpose()? {
            None => confsim_gateway::Gateway::new(config, None)?,
            Some(Journal::New(file)) => confsim_gateway::Gateway::new(config, Some(file))?,
            Some(Journal::Existing(existing)) => {
                report_resume(&existing, &config, args.start.is_some());
                let last = existing.last_seq();
                let gateway = confsim_gateway::Gateway::resume(config, *existing)?;
                println!(
                    "journal continued after seq {last}, simulated time {}",
                    gateway.now()
                );
                gateway
            }
        };
        let (seed, start) = (gateway.header().seed, gateway.header().start);
        let addr = listener.local_addr().unwrap_or(args.addr);
        let scheme = if tls.is_some() { "https" } else { "http" };
        println!("confsim serve  seed {seed}  clock {clock}  start {start}");
        println!(
            "listening on {scheme}://{addr}/agentgateway/resource/  (control: {scheme}://{addr}/simulator/)"
        );
        if let Some(journal) = &args.journal {
            println!(
                "journal {}  fsync {}",
                journal.display(),
                gateway.config().fsync.name()
            );
        }
        println!("Ctrl-C stops.");
        let stop = async {
            let _ = tokio::signal::ctrl_c().await;
        };
        let summary = match tls {
            Some(acceptor) => gateway.serve_tls(listener, acceptor, stop).await?,
            None => gateway.serve(listener, stop).await?,
        };
        if let Some(summary) = summary {
            println!(
                "stopped: journal {} records, {} bytes, digest {}",
                summary.records, summary.bytes, summary.digest
            );
        }
        Ok(ExitCode::SUCCESS)
    })
}
