//! Every binary and example answers `--help` with its flag table, refuses a flag it does not know
//! (naming the closest one), a switch given a value, a flag without its value and a value out of
//! range, each with exit code 2; README's flag tables are the `--help` tables.
//!
//! Nothing to add here for a new binary or example: [`binaries`] finds them the way Cargo does
//! (`src/main.rs`, `src/bin/*`, `examples/*.rs`, `examples/*/main.rs`), and every check runs on
//! each. What a new one needs: its `main` declares a `cli::Usage` table and calls
//! `cli::parse_args` first (as `examples/interop.rs` does), and README gets its table after a
//! line naming its help command (`cargo run --example NAME -- --help`); the README test prints
//! the table to paste when it is missing or out of date.

mod support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// One binary of the package, as Cargo builds it.
struct Binary {
    name: String,
    /// The built program.
    path: PathBuf,
    /// Its own sources (not the library's).
    sources: Vec<PathBuf>,
    /// How README names its help: `cargo run --example interop -- --help`.
    help_command: String,
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Every `.rs` file under `dir`.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read_dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            files.push(path);
        }
    }
    files.sort();
    files
}

/// `dir/NAME.rs` and `dir/NAME/main.rs`, Cargo's automatic targets, as (name, sources).
fn targets_in(dir: &Path) -> Vec<(String, Vec<PathBuf>)> {
    let mut targets = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return targets;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = path.file_stem().unwrap().to_string_lossy().to_string();
        if path.is_dir() && path.join("main.rs").exists() {
            targets.push((name, rust_files(&path)));
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            targets.push((name, vec![path]));
        }
    }
    targets.sort();
    targets
}

/// The package's binaries and examples.
fn binaries() -> Vec<Binary> {
    // target/<profile>/deps/cli-<hash> -> target/<profile>
    let test_binary = std::env::current_exe().expect("current_exe");
    let profile_dir = test_binary.parent().and_then(Path::parent).expect("target/<profile>");
    let mut binaries = Vec::new();
    let package = env!("CARGO_PKG_NAME");
    if root().join("src/main.rs").exists() {
        binaries.push(Binary {
            name: package.to_string(),
            path: profile_dir.join(package),
            sources: vec![root().join("src/main.rs")],
            help_command: "cargo run -- --help".to_string(),
        });
    }
    for (name, sources) in targets_in(&root().join("src/bin")) {
        binaries.push(Binary {
            path: profile_dir.join(&name),
            help_command: format!("cargo run --bin {name} -- --help"),
            name,
            sources,
        });
    }
    for (name, sources) in targets_in(&root().join("examples")) {
        binaries.push(Binary {
            path: support::example_binary(&name),
            help_command: format!("cargo run --example {name} -- --help"),
            name,
            sources,
        });
    }
    assert!(binaries.len() >= 3, "found only {} binaries", binaries.len());
    binaries
}

/// What one run printed.
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// Runs `binary args` with `env` set and the table's environment variables (`PORT`, `RUST_LOG`)
/// removed; fails if it is still running after 10 s (a mistake it took as valid flags would start
/// the server).
fn run(binary: &Binary, args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut command = Command::new(&binary.path);
    command
        .args(args)
        .env_remove("PORT")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (name, value) in env {
        command.env(name, value);
    }
    let mut child = command.spawn().unwrap_or_else(|e| panic!("start {}: {e}", binary.name));
    let deadline = Instant::now() + Duration::from_secs(10);
    while child.try_wait().expect("try_wait").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "{} {args:?} was still running after 10 s: it took them as valid",
                binary.name
            );
        }
        thread::sleep(Duration::from_millis(5));
    }
    let output = child.wait_with_output().expect("wait");
    Run {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).to_string(),
        stderr: String::from_utf8_lossy(&output.stderr).to_string(),
    }
}

/// Runs `binary args`, expects exit code 2 with `error` on the first line of standard error,
/// then the usage line.
fn expect_usage_error(binary: &Binary, args: &[&str], env: &[(&str, &str)], error: &str) {
    let run = run(binary, args, env);
    let first_line = run.stderr.lines().next().unwrap_or("");
    assert_eq!(
        (run.code, first_line),
        (Some(2), format!("{}: {error}", binary.name).as_str()),
        "{} {args:?} (env {env:?}):\n{}",
        binary.name,
        run.stderr
    );
    assert!(
        run.stderr.contains(&format!("\nusage: {} [--", binary.name)),
        "{} {args:?}: no usage line:\n{}",
        binary.name,
        run.stderr
    );
    assert!(
        run.stdout.is_empty(),
        "{} {args:?} printed {:?}",
        binary.name,
        run.stdout
    );
}

/// The rows of the first Markdown table in `text` (header and rule left out), each cell trimmed
/// and without backticks.
fn table_rows(text: &str) -> Vec<Vec<String>> {
    let lines = text
        .lines()
        .skip_while(|line| !line.trim_start().starts_with('|'))
        .take_while(|line| line.trim_start().starts_with('|'));
    let rows: Vec<Vec<String>> = lines
        .map(|line| {
            let inner = line.trim().trim_start_matches('|').trim_end_matches('|');
            inner
                .split('|')
                .map(|cell| cell.replace('`', "").trim().to_string())
                .collect()
        })
        .collect();
    rows.into_iter().skip(2).collect()
}

/// A row of a `--help` table.
struct Row {
    /// `port`.
    name: String,
    /// `N`, empty for a switch.
    value: String,
    /// `0 to 65535`, `off, error, ...`, or `-`.
    values: String,
    env: String,
}

/// `--help`'s table of `binary` (checked: exit 0, `-h` the same, nothing on standard error).
fn help_rows(binary: &Binary) -> (String, Vec<Row>) {
    let help = run(binary, &["--help"], &[]);
    assert_eq!(
        help.code,
        Some(0),
        "{} --help:\n{}{}",
        binary.name,
        help.stdout,
        help.stderr
    );
    assert!(help.stderr.is_empty(), "{} --help wrote {:?}", binary.name, help.stderr);
    assert!(
        help.stdout.starts_with(&format!("{}: ", binary.name))
            && help.stdout.contains(&format!("\nusage: {}", binary.name)),
        "{} --help should start with its name and usage line:\n{}",
        binary.name,
        help.stdout
    );
    let short = run(binary, &["-h"], &[]);
    assert_eq!(
        (short.code, &short.stdout),
        (Some(0), &help.stdout),
        "{} -h",
        binary.name
    );

    let rows: Vec<Row> = table_rows(&help.stdout)
        .into_iter()
        .map(|cells| {
            assert_eq!(cells.len(), 5, "{}: row {cells:?}", binary.name);
            let flag = cells[0].strip_prefix("--").expect("a flag starts with --");
            let (name, value) = flag.split_once(' ').unwrap_or((flag, ""));
            Row {
                name: name.to_string(),
                value: value.to_string(),
                values: cells[1].clone(),
                env: cells[3].clone(),
            }
        })
        .collect();
    assert!(
        !rows.is_empty(),
        "{} --help has no flag table:\n{}",
        binary.name,
        help.stdout
    );
    (help.stdout, rows)
}

/// The read methods of `cli::Flags` (`switch`, `text`, `number`, ...): its `pub fn x(&self,
/// name: &str)`, found in src/cli.rs so that a new one is picked up.
fn read_methods() -> Vec<String> {
    let cli = std::fs::read_to_string(root().join("src/cli.rs")).expect("src/cli.rs");
    let start = cli.find("impl Flags {").expect("impl Flags in src/cli.rs");
    let mut methods = Vec::new();
    for line in cli[start..].lines().skip(1).take_while(|line| !line.starts_with('}')) {
        let Some(rest) = line.trim().strip_prefix("pub fn ") else {
            continue;
        };
        let name: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
        if rest.contains("(&self, name: &str)") {
            methods.push(name);
        }
    }
    assert!(methods.len() >= 4, "read methods of Flags: {methods:?}");
    methods
}

/// Every flag name `sources` read: `flags.METHOD("name")` (whitespace ignored, so a call
/// rustfmt split over lines counts), with METHOD one of [`read_methods`].
fn flags_read_in(sources: &[PathBuf], methods: &[String]) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for source in sources {
        let text: String = std::fs::read_to_string(source)
            .expect("source")
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        for method in methods {
            let call = format!("flags.{method}(\"");
            for (at, _) in text.match_indices(&call) {
                let rest = &text[at + call.len()..];
                names.insert(rest[..rest.find('"').expect("closing quote")].to_string());
            }
            // `flags.number::<u16>("port")`
            let turbofish = format!("flags.{method}::<");
            for (at, _) in text.match_indices(&turbofish) {
                let rest = &text[at + turbofish.len()..];
                if let Some(open) = rest.find(">(\"") {
                    let rest = &rest[open + 3..];
                    names.insert(rest[..rest.find('"').expect("closing quote")].to_string());
                }
            }
        }
    }
    names
}

#[test]
fn help_lists_every_flag_the_code_reads() {
    let methods = read_methods();
    for binary in binaries() {
        let (help, rows) = help_rows(&binary);
        let listed: BTreeSet<String> = rows.iter().map(|row| row.name.clone()).collect();
        let read = flags_read_in(&binary.sources, &methods);
        assert!(
            !read.is_empty(),
            "{}: no `flags.<read>(\"name\")` in {:?}",
            binary.name,
            binary.sources
        );
        let not_listed: Vec<&String> = read.difference(&listed).collect();
        let not_read: Vec<&String> = listed.difference(&read).collect();
        assert!(
            not_listed.is_empty() && not_read.is_empty(),
            "{}: read but not in --help: {not_listed:?}; in --help but never read: {not_read:?}\n{help}",
            binary.name
        );
    }
}

#[test]
fn unknown_and_misspelled_flags_fail_with_the_closest_one() {
    for binary in binaries() {
        let (_, rows) = help_rows(&binary);
        for row in &rows {
            // `port` -> `prot`: the second and third letters swapped.
            let mut letters: Vec<char> = row.name.chars().collect();
            if letters.len() < 4 || letters[1] == letters[2] {
                continue;
            }
            letters.swap(1, 2);
            let typo: String = letters.into_iter().collect();
            let suggestion = format!("unknown flag --{typo}; did you mean --{}?", row.name);
            expect_usage_error(&binary, &[&format!("--{typo}"), "1"], &[], &suggestion);
            expect_usage_error(
                &binary,
                &[&format!("-{}", row.name)],
                &[],
                &format!("unknown flag -{}; did you mean --{}?", row.name, row.name),
            );
        }
        expect_usage_error(
            &binary,
            &["--no-such-flag-anywhere"],
            &[],
            "unknown flag --no-such-flag-anywhere",
        );
        expect_usage_error(
            &binary,
            &["8005"],
            &[],
            "unexpected argument \"8005\" (flags start with --)",
        );
    }
}

#[test]
fn switches_take_no_value_and_values_are_required() {
    for binary in binaries() {
        let (_, rows) = help_rows(&binary);
        for row in &rows {
            let flag = format!("--{}", row.name);
            if row.value.is_empty() {
                let given = format!("{flag}=yes");
                let error = format!("{flag} is a switch and takes no value (given {given})");
                expect_usage_error(&binary, &[&given], &[], &error);
            } else {
                let error = format!("{flag} needs a value: {flag} {}", row.value);
                expect_usage_error(&binary, &[&flag], &[], &error);
            }
        }
    }
}

#[test]
fn values_out_of_range_fail_with_the_range() {
    for binary in binaries() {
        let (_, rows) = help_rows(&binary);
        let mut numbers = 0;
        for row in &rows {
            let flag = format!("--{}", row.name);
            if row.values.starts_with("off, ") {
                let error = format!("{flag} loud: unknown log level \"loud\" ({})", row.values);
                expect_usage_error(&binary, &[&flag, "loud"], &[], &error);
                continue;
            }
            let Some((min, max)) = row.values.split_once(" to ") else {
                continue;
            };
            numbers += 1;
            let min: i128 = min.parse().expect("min");
            let max: i128 = max.parse().expect("max");
            let range = format!("out of range: {min} to {max}");
            for bad in BTreeSet::from([max + 1, min - 1, -1]) {
                expect_usage_error(
                    &binary,
                    &[&flag, &bad.to_string()],
                    &[],
                    &format!("{flag} {bad}: {range}"),
                );
            }
            let error = format!("{flag} 12ab: not a whole number ({min} to {max})");
            expect_usage_error(&binary, &[&flag, "12ab"], &[], &error);
            if row.env != "-" {
                let bad = (max + 1).to_string();
                let error = format!("{}={bad}: {range}", row.env);
                expect_usage_error(&binary, &[], &[(&row.env, &bad)], &error);
            }
        }
        assert!(numbers > 0, "{}: no number flag", binary.name);
    }
}

#[test]
fn readme_flag_tables_are_the_help_tables() {
    let readme = std::fs::read_to_string(root().join("README.md")).expect("README.md");
    for binary in binaries() {
        let (help, _) = help_rows(&binary);
        let help_table: String = help
            .lines()
            .filter(|line| line.starts_with('|'))
            .map(|line| format!("{line}\n"))
            .collect();
        let paste = format!(
            "README.md needs, after a line naming `{}`, this table (its output):\n\n{help_table}",
            binary.help_command
        );
        let Some(at) = readme.find(&format!("`{}`", binary.help_command)) else {
            panic!("{paste}");
        };
        assert_eq!(table_rows(&readme[at..]), table_rows(&help), "{}: {paste}", binary.name);
    }
}
