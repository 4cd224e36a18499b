//! Stamps the binary with its git commit and build date, for `roster --version`.
//!
//! The commit: `ROSTER_GIT_COMMIT` when set (the image build passes its revision, as
//! it has no `.git`), else `git rev-parse`, else `unknown`. The date: from
//! `SOURCE_DATE_EPOCH` when set (reproducible builds), else today's, in UTC. The script
//! reruns when the checked-out commit changes, not on every build.

use std::{path::Path, process::Command};

fn main() {
    println!("cargo:rerun-if-env-changed=ROSTER_GIT_COMMIT");
    println!("cargo:rerun-if-env-changed=SOURCE_DATE_EPOCH");
    let git = Path::new("../../.git");
    if git.is_dir() {
        println!("cargo:rerun-if-changed=../../.git/HEAD");
        println!("cargo:rerun-if-changed=../../.git/packed-refs");
        if let Ok(head) = std::fs::read_to_string(git.join("HEAD"))
            && let Some(reference) = head.trim().strip_prefix("ref: ")
        {
            println!("cargo:rerun-if-changed=../../.git/{reference}");
        }
    }
    let commit = std::env::var("ROSTER_GIT_COMMIT")
        .ok()
        .filter(|commit| !commit.is_empty() && commit != "unknown")
        .map(|commit| commit.chars().take(12).collect())
        .or_else(git_commit)
        .unwrap_or_else(|| "unknown".to_owned());
    let date = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|seconds| seconds.trim().parse::<i64>().ok())
        .and_then(|seconds| chrono::DateTime::from_timestamp(seconds, 0))
        .unwrap_or_else(chrono::Utc::now);
    println!("cargo:rustc-env=ROSTER_GIT_COMMIT={commit}");
    println!(
        "cargo:rustc-env=ROSTER_BUILD_DATE={}",
        date.format("%Y-%m-%d")
    );
}

/// The checked-out commit, 12 hex digits. (Not marked dirty: the script does not rerun
/// on every edit, so such a mark would go stale.)
fn git_commit() -> Option<String> {
    let output = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()
        .filter(|output| output.status.success())?;
    let commit = String::from_utf8(output.stdout).ok()?.trim().to_owned();
    (!commit.is_empty()).then_some(commit)
}
