//! The agent process: spawning it in its own process group, reading its CPU and memory from
//! /proc while it runs, and reaping it with wait4() for the kernel's own accounting (user and
//! system CPU of all its threads), the same figures `/usr/bin/time -v` prints.
//!
//! Peak RSS is the agent's `VmHWM`, read from /proc at every poll until it exits, not wait4's
//! `ru_maxrss`: Linux carries the high-water mark of the address space a process had before
//! `exec` into `ru_maxrss`, and before exec the agent is a fork of the driver, whose memory
//! (the API double's pods, the generator's buffers) would then count as the agent's.

use anyhow::Context;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How the agent ended, with its rusage.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Exit {
    pub code: Option<i32>,
    pub signal: Option<i32>,
    pub user_s: f64,
    pub sys_s: f64,
    /// wait4's `ru_maxrss`: includes the driver's memory at fork time (see the module docs).
    pub maxrss_kib: u64,
    /// The agent's own peak resident set (`VmHWM`), as last read before it exited.
    pub hwm_kib: u64,
}

impl Exit {
    /// The agent's peak RSS in MiB: `VmHWM` when it could be read, else `ru_maxrss`.
    pub fn peak_rss_mib(&self) -> f64 {
        let kib = if self.hwm_kib > 0 {
            self.hwm_kib
        } else {
            self.maxrss_kib
        };
        kib as f64 / 1024.0
    }
}

/// A spawned agent; killed and reaped on drop if still running, so a failing bench never
/// leaves it behind.
pub struct Agent {
    pid: libc::pid_t,
    exit: Option<Exit>,
    hwm_kib: u64,
}

impl Agent {
    pub fn spawn(mut cmd: Command, log: std::fs::File) -> anyhow::Result<Agent> {
        let err = log.try_clone()?;
        cmd.stdin(Stdio::null())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(err))
            // Its own group, so a Ctrl-C at the terminal is not delivered to it directly...
            .process_group(0);
        // ...and SIGTERM when the bench dies for any reason, so no agent is left behind.
        // SAFETY: prctl is async-signal-safe; nothing else runs between fork and exec here.
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
                Ok(())
            });
        }
        let child = cmd
            .spawn()
            .with_context(|| format!("starting {:?}", cmd.get_program()))?;
        let pid = libc::pid_t::try_from(child.id()).context("pid out of range")?;
        // Reaped with wait4 below, never through `child`, so the rusage is ours to read.
        drop(child);
        Ok(Agent {
            pid,
            exit: None,
            hwm_kib: 0,
        })
    }

    pub fn pid(&self) -> libc::pid_t {
        self.pid
    }

    pub fn exit(&self) -> Option<Exit> {
        self.exit
    }

    /// Reaps the agent if it has exited (without blocking when `block` is false).
    pub fn poll(&mut self, block: bool) -> anyhow::Result<Option<Exit>> {
        if self.exit.is_some() {
            return Ok(self.exit);
        }
        // The high-water mark only grows; read while the process still has its memory.
        if let Some(kib) = proc_status_kib(self.pid, "VmHWM") {
            self.hwm_kib = self.hwm_kib.max(kib);
        }
        let mut status: libc::c_int = 0;
        // SAFETY: zeroed rusage is a valid value to be overwritten by the kernel.
        let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
        let flags = if block { 0 } else { libc::WNOHANG };
        // SAFETY: valid out-pointers; `pid` is our own child.
        let rc = unsafe { libc::wait4(self.pid, &mut status, flags, &mut ru) };
        if rc < 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() == std::io::ErrorKind::Interrupted {
                return Ok(None);
            }
            return Err(e).context("wait4");
        }
        if rc == 0 {
            return Ok(None);
        }
        let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
        let exited = libc::WIFEXITED(status);
        let e = Exit {
            code: exited.then(|| libc::WEXITSTATUS(status)),
            signal: libc::WIFSIGNALED(status).then(|| libc::WTERMSIG(status)),
            user_s: tv(ru.ru_utime),
            sys_s: tv(ru.ru_stime),
            maxrss_kib: u64::try_from(ru.ru_maxrss).unwrap_or(0),
            hwm_kib: self.hwm_kib,
        };
        self.exit = Some(e);
        Ok(self.exit)
    }

    pub fn signal(&self, sig: libc::c_int) {
        if self.exit.is_none() {
            // SAFETY: signals only our own child, which has not been reaped (no pid reuse).
            unsafe {
                libc::kill(self.pid, sig);
            }
        }
    }

    /// SIGTERM, then SIGKILL after `grace`; returns the exit and the time it took.
    pub fn terminate(&mut self, grace: Duration) -> anyhow::Result<(Exit, Duration)> {
        let t = Instant::now();
        self.signal(libc::SIGTERM);
        while t.elapsed() < grace {
            if let Some(e) = self.poll(false)? {
                return Ok((e, t.elapsed()));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        self.signal(libc::SIGKILL);
        loop {
            if let Some(e) = self.poll(true)? {
                return Ok((e, t.elapsed()));
            }
        }
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        if self.exit.is_none() {
            self.signal(libc::SIGKILL);
            let _ = self.poll(true);
        }
    }
}

/// (user, sys) CPU seconds of a live process from /proc/PID/stat (all threads).
pub fn proc_cpu(pid: libc::pid_t) -> Option<(f64, f64)> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the parenthesised command name, which may itself hold spaces.
    let rest = s.get(s.rfind(')')? + 2..)?;
    let f: Vec<&str> = rest.split_whitespace().collect();
    // SAFETY: sysconf has no preconditions.
    let tck = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    let tck = if tck > 0.0 { tck } else { 100.0 };
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok());
    Some((ticks(11)? / tck, ticks(12)? / tck))
}

/// A `/proc/PID/status` field in KiB (e.g. `VmHWM`, `VmRSS`).
pub fn proc_status_kib(pid: libc::pid_t, field: &str) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
}
