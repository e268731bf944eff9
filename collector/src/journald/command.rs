//! The journalctl command line the input runs.
//!
//! - `--output=json --all`: one JSON object per entry, with fields over 4096 bytes included
//!   (without `--all` journalctl writes them as `null`).
//! - `--follow --merge`: keep reading as entries are written. `--merge` matters twice: since
//!   systemd 250, `--follow` alone shows only the current boot, so the entries of an earlier boot
//!   after the saved cursor (the agent was down across a reboot) would be skipped; and without it
//!   journalctl opens only the journals of the machine id in `/etc/machine-id`, which inside the
//!   agent's container is not the node's.
//! - where to start: `--after-cursor=` the saved cursor; without one the whole journal
//!   (`LOGSHIP_READ_FROM=head`) or new entries only (`--lines=0`, `tail`). `--lines=all` goes
//!   with the cursor too: `--follow` implies `--lines=10`, which (journalctl 252) shows only ten
//!   of the entries after the cursor before it waits for new ones.
//! - `_SYSTEMD_UNIT=<unit>` matches, one per unit (journalctl ORs matches of one field): the
//!   unit's own output, as fluent-bit's `Systemd_Filter _SYSTEMD_UNIT=…` read it. `--unit`
//!   would add systemd's messages *about* the unit, logged by PID 1.

use std::ffi::OsString;
use std::path::Path;

/// Where reading starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start<'a> {
    /// Just past the entry this cursor names.
    After(&'a str),
    /// The oldest entry in the journal.
    Oldest,
    /// The next entry written.
    New,
}

pub fn args(units: &[String], directory: Option<&Path>, start: Start<'_>) -> Vec<OsString> {
    let mut args: Vec<OsString> = [
        "--output=json",
        "--all",
        "--follow",
        "--merge",
        "--no-pager",
    ]
    .into_iter()
    .map(OsString::from)
    .collect();
    if let Some(dir) = directory {
        let mut arg = OsString::from("--directory=");
        arg.push(dir);
        args.push(arg);
    }
    match start {
        Start::After(cursor) => {
            args.push(format!("--after-cursor={cursor}").into());
            args.push("--lines=all".into());
        }
        Start::Oldest => args.push("--lines=all".into()),
        Start::New => args.push("--lines=0".into()),
    }
    args.extend(units.iter().map(|u| format!("_SYSTEMD_UNIT={u}").into()));
    args
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(args: Vec<OsString>) -> Vec<String> {
        args.into_iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn follows_every_boot_from_the_cursor_for_each_unit() {
        let units = ["docker.service".to_string(), "kubelet.service".to_string()];
        assert_eq!(
            text(args(&units, Some(Path::new("/j")), Start::After("s=1;i=2"))),
            [
                "--output=json",
                "--all",
                "--follow",
                "--merge",
                "--no-pager",
                "--directory=/j",
                "--after-cursor=s=1;i=2",
                "--lines=all",
                "_SYSTEMD_UNIT=docker.service",
                "_SYSTEMD_UNIT=kubelet.service",
            ]
        );
        let head = text(args(&units[..1], None, Start::Oldest));
        assert_eq!(head[5..], ["--lines=all", "_SYSTEMD_UNIT=docker.service"]);
        let tail = text(args(&units[..1], None, Start::New));
        assert_eq!(tail[5], "--lines=0");
    }
}
