//! The documentation's commands still run: every `confsim …` (or `cargo run --release -- …`)
//! line in a `sh` block of README.md, docs/*.md and scenarios/README.md that names a bundled
//! file (or a file an earlier command of the same block wrote) is run with this build, and must
//! succeed (or exit as its comment says: `# exits 1: …`); and the README's two commands are the ones CI runs. So the docs cannot drift from
//! the product unnoticed.
//!
//! The commands of a block run in order in a temporary directory of the block's own (what they
//! write lands there, for the next to read), with each argument that names a file or folder of
//! the repository made absolute. Not run, and named on stderr: commands
//! that serve or proxy (they run until stopped), that take real time (`--clock wall`), that
//! use shell syntax (variables, pipes), and, in a debug build without `CONFSIM_BIG=1`, the
//! `big-` scenarios (as for the golden tests; a release build runs them).

use crate::support::root;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The pages whose commands are checked.
fn pages() -> Vec<PathBuf> {
    let root = root();
    let mut pages = vec![root.join("README.md"), root.join("scenarios/README.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root.join("docs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    docs.sort();
    pages.extend(docs);
    pages
}

/// One command line of a page: where it is, and its words.
#[derive(Debug)]
struct DocCommand {
    page: PathBuf,
    /// The block's number on its page (its commands share a directory).
    block: usize,
    line: usize,
    text: String,
    /// The trailing comment (`# exits 1: …` says the command is meant to exit 1).
    comment: String,
}

impl DocCommand {
    /// The exit code the page says the command ends with: 0 unless its comment says
    /// `exits N`.
    fn expected_exit(&self) -> i32 {
        self.comment
            .split_once("exits ")
            .and_then(|(_, rest)| {
                rest.split(|c: char| !c.is_ascii_digit())
                    .next()?
                    .parse()
                    .ok()
            })
            .unwrap_or(0)
    }
}

/// The command lines of every `sh` block of `text`, continuation lines joined, prompts (`$ `)
/// and trailing comments cut.
fn shell_lines(page: &Path, text: &str) -> Vec<DocCommand> {
    let mut out = Vec::new();
    let mut in_sh = false;
    let mut block = 0;
    let mut pending: Option<DocCommand> = None;
    for (i, raw) in text.lines().enumerate() {
        let trimmed = raw.trim();
        if let Some(lang) = trimmed.strip_prefix("```") {
            in_sh = !in_sh && matches!(lang, "sh" | "bash" | "shell" | "console");
            block += 1;
            continue;
        }
        if !in_sh {
            continue;
        }
        let line = trimmed.strip_prefix("$ ").unwrap_or(trimmed);
        let (line, comment) = match line.find(" #") {
            Some(at) => (line[..at].trim_end(), line[at + 2..].trim()),
            None => (line, ""),
        };
        let (body, continues) = match line.strip_suffix('\\') {
            Some(body) => (body.trim_end(), true),
            None => (line, false),
        };
        let command = match pending.take() {
            Some(mut c) => {
                c.text.push(' ');
                c.text.push_str(body.trim());
                c.comment.push_str(comment);
                c
            }
            None => DocCommand {
                page: page.to_owned(),
                block,
                line: i + 1,
                text: body.to_owned(),
                comment: comment.to_owned(),
            },
        };
        if continues {
            pending = Some(command);
        } else if !command.text.is_empty() {
            out.push(command);
        }
    }
    out
}

/// The arguments of a `confsim` command as a shell would split them (quotes removed), or
/// `None` for any other line.
fn confsim_args(text: &str) -> Option<Vec<String>> {
    let rest = text
        .strip_prefix("cargo run --release -- ")
        .or_else(|| text.strip_prefix("cargo run -- "))
        .or_else(|| text.strip_prefix("confsim "))?;
    shlex::split(rest)
}

/// Why a `confsim` command is not run here, if it is not.
fn skip_reason(args: &[String], text: &str) -> Option<&'static str> {
    let big_ok = !cfg!(debug_assertions) || std::env::var_os("CONFSIM_BIG").is_some();
    if text.contains(['$', '|', '<', '`', '&', ';']) || text.contains('>') {
        return Some("shell syntax");
    }
    if args.iter().any(|a| a.contains('…') || a.contains("...")) {
        return Some("a synopsis, not a command");
    }
    match args.first().map(String::as_str) {
        Some("serve" | "record") => return Some("runs until stopped"),
        None => return Some("no subcommand"),
        _ => {}
    }
    if args.windows(2).any(|w| w[0] == "--clock" && w[1] == "wall") {
        return Some("takes real time");
    }
    if !big_ok && args.iter().any(|a| a.contains("/big-")) {
        return Some("a big- scenario in a debug build");
    }
    None
}

#[test]
fn every_documented_command_with_a_bundled_file_runs() {
    let root = root();
    let mut ran = Vec::new();
    let mut failures = Vec::new();
    // A name of the repository's, as a command's argument: a file or folder path.
    let in_repo = |a: &str| (a.contains('/') || a.contains('.')) && root.join(a).exists();
    for page in pages() {
        let text = std::fs::read_to_string(&page).unwrap();
        let mut dir: Option<(usize, tempfile::TempDir)> = None;
        for command in shell_lines(&page, &text) {
            let Some(args) = confsim_args(&command.text) else {
                continue;
            };
            if dir
                .as_ref()
                .is_none_or(|(block, _)| *block != command.block)
            {
                dir = Some((command.block, tempfile::tempdir().unwrap()));
            }
            let cwd = dir.as_ref().unwrap().1.path();
            let bundled = args.iter().any(|a| in_repo(a) || cwd.join(a).is_file());
            if !bundled {
                continue;
            }
            let place = format!(
                "{}:{}",
                command
                    .page
                    .strip_prefix(&root)
                    .unwrap_or(&command.page)
                    .display(),
                command.line
            );
            if let Some(reason) = skip_reason(&args, &command.text) {
                eprintln!("not run ({reason}): {place}: {}", command.text);
                continue;
            }
            let args: Vec<String> = args
                .iter()
                .map(|a| {
                    if in_repo(a) && !cwd.join(a).exists() {
                        root.join(a).to_string_lossy().into_owned()
                    } else {
                        a.clone()
                    }
                })
                .collect();
            let out = Command::new(env!("CARGO_BIN_EXE_confsim"))
                .args(&args)
                .current_dir(cwd)
                .output()
                .expect("the binary runs");
            if out.status.code() != Some(command.expected_exit()) {
                failures.push(format!(
                    "{place}: `{}` exited {:?}, not {}: {}",
                    command.text,
                    out.status.code(),
                    command.expected_exit(),
                    String::from_utf8_lossy(&out.stderr)
                ));
            }
            ran.push(place);
        }
    }
    eprintln!("ran: {ran:?}");
    assert!(failures.is_empty(), "{failures:#?}");
    assert!(
        !ran.is_empty() && ran.iter().any(|p| p.starts_with("README.md")),
        "the README's first command is among those run: {ran:?}"
    );
}

#[test]
fn the_readmes_two_commands_are_the_first_run_and_what_ci_tests() {
    let root = root();
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let commands: Vec<String> = shell_lines(&root.join("README.md"), &readme)
        .into_iter()
        .map(|c| c.text)
        .collect();
    let first = commands.first().expect("the README has commands");
    assert!(
        first.starts_with("cargo run -- run scenarios/"),
        "the README's first command runs a bundled scenario in the dev profile (quick to build, \
         and what the test command then reuses): {first}"
    );
    let test = commands
        .iter()
        .find(|c| c.starts_with("cargo test"))
        .expect("the README has a test command");
    let ci = std::fs::read_to_string(root.join(".ci/run")).unwrap();
    assert!(
        ci.lines().any(|l| l.trim().starts_with(test.as_str())),
        "CI runs the README's test command `{test}`"
    );
}

#[test]
fn the_command_reader_joins_continuations_and_cuts_prompts_and_comments() {
    let page = Path::new("x.md");
    let text = "```sh\n$ confsim run a.json \\\n    --json   # the report\n```\n\
                ```json\nconfsim run not-shell.json\n```\n\
                ```sh\nconfsim replay out.jsonl\nconfsim sweep s.json --vary 'a[0].b=1,2'  # exits 1: a knee\n```\n";
    let lines = shell_lines(page, text);
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert_eq!(lines[0].text, "confsim run a.json --json");
    assert_eq!(lines[0].line, 2);
    assert_eq!(lines[1].line, 9);
    assert_ne!(
        lines[0].block, lines[1].block,
        "each block has its own directory"
    );
    assert_eq!(
        lines[1].block, lines[2].block,
        "a block's commands share one"
    );
    assert_eq!(lines[1].expected_exit(), 0);
    assert_eq!(lines[2].expected_exit(), 1, "{:?}", lines[2]);
    assert_eq!(
        confsim_args(&lines[2].text).unwrap(),
        ["sweep", "s.json", "--vary", "a[0].b=1,2"],
        "quotes go as a shell's do"
    );
    assert_eq!(
        confsim_args("cargo run --release -- validate x.json"),
        Some(vec!["validate".to_owned(), "x.json".to_owned()])
    );
    assert_eq!(confsim_args("cargo test --workspace"), None);
}
