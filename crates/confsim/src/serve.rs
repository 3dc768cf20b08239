//! `confsim serve`: the HTTP gateway (product.md §6). Parses and checks the flags, loads the
//! platform file (and the TLS certificate and key, if given), binds (loopback unless told),
//! opens the journal, prints the seed and the address, and serves until Ctrl-C; then flushes
//! the journal and prints its summary.
//!
//! The control API is on by default only on a loopback address: elsewhere it is off unless
//! `--control-token` protects it, and `--control on` without a token there refuses to start.
//!
//! An existing `--journal` file is continued, never overwritten: its torn tail (a crash
//! mid-write) is reported and cut off, the platform is rebuilt from its records, and the
//! session goes on from its last record with the next `seq` (`Gateway::resume`).

use anyhow::{Context, Result, bail};
use clap::ValueEnum;
use confsim_core::{SimDuration, SimTime};
use confsim_gateway::{
    ClockMode, ControlAccess, ExistingJournal, Fsync, GatewayConfig, GuidMode, GuidPolicy,
};
use std::fs::File;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::prelude::*;

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

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum ControlArg {
    /// On at a loopback address; beyond loopback on only with --control-token, else off.
    Auto,
    /// On; beyond loopback it needs --control-token (without one the server does not start).
    On,
    /// Off: every /simulator/ route answers 404.
    Off,
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
    /// Sign out an agent whose client sends nothing for this long (real ms, whatever the
    /// clock and speed; MAXTIME); 0: never.
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
    /// The control API (/simulator/: clock, journal, metrics). auto: on at a loopback
    /// address, and beyond loopback only with --control-token.
    #[arg(long, value_enum, default_value_t = ControlArg::Auto)]
    control: ControlArg,
    /// Require `Authorization: Bearer TOKEN` on every /simulator/ request (401 otherwise).
    /// Visible in process listings: prefer --control-token-file on a shared machine.
    #[arg(long, value_name = "TOKEN", conflicts_with = "control_token_file")]
    control_token: Option<String>,
    /// As --control-token, with the token read from the first line of FILE.
    #[arg(long, value_name = "FILE")]
    control_token_file: Option<PathBuf>,
    /// Disconnect a client that takes longer than this (real ms) to send a request's line
    /// and headers (slow clients; also the idle keep-alive timeout and the TLS handshake's).
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    header_timeout_ms: u64,
    /// The largest request line and headers, in bytes; larger ones are answered 431.
    #[arg(long, value_name = "N", default_value_t = 16_384)]
    max_header_bytes: usize,
    /// Connections served at once; more wait in the listen backlog until one closes. Each
    /// long-polling agent holds one. Keep it below `ulimit -n`.
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    max_connections: usize,
    /// A host (or HOST:PORT) push-mode callbacks may go to (a sign-in with callBackUri and
    /// serviceToken, or pushUrl); repeat for more. Without it, loopback only. A callback
    /// elsewhere is refused at sign-in with 100-001.
    #[arg(long, value_name = "HOST[:PORT]")]
    push_allow: Vec<confsim_gateway::PushAllow>,
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

/// Who may use the control API, from `--control`, the token flags and the address.
fn control(args: &ServeArgs) -> Result<ControlAccess> {
    let token = match (&args.control_token, &args.control_token_file) {
        (Some(token), _) => Some(token.clone()),
        (None, Some(file)) => {
            let text = std::fs::read_to_string(file)
                .with_context(|| format!("{}: cannot read the control token", file.display()))?;
            let token = text.lines().next().unwrap_or("").trim().to_owned();
            if token.is_empty() {
                bail!(
                    "{}: the control token file is empty (the token is its first line)",
                    file.display()
                );
            }
            Some(token)
        }
        (None, None) => None,
    };
    let loopback = args.addr.ip().is_loopback();
    Ok(match (args.control, token) {
        (ControlArg::Off, Some(_)) => {
            bail!("--control off contradicts --control-token: drop one of them")
        }
        (ControlArg::Off, None) => ControlAccess::Off,
        (_, Some(token)) => ControlAccess::Token(token),
        (ControlArg::On, None) if !loopback => bail!(
            "--control on at {} (not a loopback address) would let anyone who reaches it move the clock and read the journal; give --control-token TOKEN (or --control-token-file FILE), or bind to 127.0.0.1",
            args.addr
        ),
        (ControlArg::On | ControlArg::Auto, None) if loopback => ControlAccess::Open,
        (_, None) => ControlAccess::Off,
    })
}

/// Connections the kernel holds for the accept loop (capped by `net.core.somaxconn`): room for
/// thousands of agents reconnecting at once, after a restart say, where tokio's `bind` keeps
/// 1,024 and resets the rest.
const LISTEN_BACKLOG: u32 = 4096;

/// Binds and listens on `addr` with `LISTEN_BACKLOG`.
pub(crate) fn listen(addr: SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(LISTEN_BACKLOG)
}

/// The soft limit on open files (`ulimit -n`), where the system tells it (Linux).
fn open_files_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
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
        inactivity: (args.inactivity_ms > 0)
            .then(|| std::time::Duration::from_millis(args.inactivity_ms)),
        lenient: args.lenient,
        queue_capacity: args.queue_capacity,
        journal_memory_bytes: args.journal_memory_mb.saturating_mul(1 << 20),
        fsync: match args.fsync {
            FsyncArg::Always => Fsync::Always,
            FsyncArg::Batch => Fsync::Batch,
            FsyncArg::Never => Fsync::Never,
        },
        control: control(args)?,
        header_read_timeout: Duration::from_millis(args.header_timeout_ms),
        max_header_bytes: args.max_header_bytes,
        max_connections: args.max_connections,
        push_allow: args.push_allow.clone(),
        ..GatewayConfig::default()
    };
    config.check()?;
    Ok(config)
}

/// Logging to stderr (warnings, or `RUST_LOG`) and the async runtime of a server command.
pub(crate) fn server_runtime() -> Result<tokio::runtime::Runtime> {
    // `RUST_LOG` as a level (`info`) or per target (`warn,confsim_gateway=debug`): the `Targets`
    // syntax, which needs no regular expressions (and so no regex engine in the build).
    let filter = std::env::var("RUST_LOG")
        .ok()
        .and_then(|value| value.parse::<Targets>().ok())
        .unwrap_or_else(|| Targets::new().with_default(LevelFilter::WARN));
    let _ = tracing_subscriber::registry()
        .with(tracing_subscriber::fmt::layer().with_writer(std::io::stderr))
        .with(filter)
        .try_init();
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

pub fn serve(args: ServeArgs) -> Result<ExitCode> {
    let config = config(&args)?;
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(confsim_gateway::tls_acceptor(cert, key)?),
        _ => None,
    };
    let runtime = server_runtime()?;
    let clock = match config.clock {
        ClockMode::Wall { speed } => format!("wall (speed {speed})"),
        ClockMode::Manual => "manual".to_owned(),
    };
    runtime.block_on(async move {
        // Bind before creating the journal, so a busy port leaves no empty journal behind.
        let listener =
            listen(args.addr).with_context(|| format!("cannot listen on {}", args.addr))?;
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
        let control = match &gateway.config().control {
            ControlAccess::Open => format!("{scheme}://{addr}/simulator/"),
            ControlAccess::Token(_) => {
                format!("{scheme}://{addr}/simulator/ with Authorization: Bearer <token>")
            }
            ControlAccess::Off if args.control == ControlArg::Off => "off".to_owned(),
            ControlAccess::Off => {
                "off: not a loopback address (--control-token TOKEN turns it on)".to_owned()
            }
        };
        println!("listening on {scheme}://{addr}/agentgateway/resource/  (control: {control})");
        let limits = gateway.config();
        if let Some(files) = open_files_limit()
            && files < limits.max_connections as u64 + 64
        {
            eprintln!(
                "confsim: the open-file limit (ulimit -n) is {files}, below --max-connections {} (plus the server's own files): connections past it wait until one closes; raise the limit or lower --max-connections",
                limits.max_connections
            );
        }
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
