//! Network namespaces made for one run: created, configured with `ip(8)` and
//! sysctls, entered by the calling thread for test runs, deleted (with every
//! interface in them) when dropped. `bpfbox run --world F --compare` builds one from
//! the world file so that the kernel's `bpf_fib_lookup` & co. see the same host as
//! bpfbox's runtime.

use crate::KernelError;
use std::os::fd::{AsRawFd, OwnedFd};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

/// One configuration step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// `ip -n NS ARGS...`.
    Ip(Vec<String>),
    /// A sysctl inside the namespace: its path under /proc/sys
    /// (`net/ipv4/conf/all/forwarding`) and value.
    Sysctl(String, String),
}

/// A network namespace this process created; deleted on drop.
#[derive(Debug)]
pub struct Netns {
    name: String,
}

/// The calling thread inside a [`Netns`]; back in its former namespace on drop.
#[derive(Debug)]
pub struct Entered {
    old: OwnedFd,
}

impl Drop for Entered {
    fn drop(&mut self) {
        let _ = crate::sys::setns_fd(self.old.as_raw_fd());
    }
}

fn run(args: &[&str]) -> Result<(), KernelError> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| KernelError::Unavailable(format!("network namespaces need ip(8) (iproute2): {e}")))?;
    if out.status.success() {
        return Ok(());
    }
    Err(KernelError::BadTarget(format!(
        "`ip {}` failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr).trim()
    )))
}

impl Netns {
    /// Create `bpfbox-run-<pid>-<n>-<tag>` and apply `steps` in order. Nothing is left
    /// behind when a step fails.
    pub fn create(tag: &str, steps: &[Step]) -> Result<Netns, KernelError> {
        static N: AtomicU32 = AtomicU32::new(0);
        let name = format!("bpfbox-run-{}-{}-{tag}", std::process::id(), N.fetch_add(1, Ordering::Relaxed));
        run(&["netns", "add", &name])?;
        let ns = Netns { name };
        for s in steps {
            ns.apply(s)?;
        }
        Ok(ns)
    }

    fn apply(&self, step: &Step) -> Result<(), KernelError> {
        match step {
            Step::Ip(args) => {
                let mut all = vec!["-n", self.name.as_str()];
                all.extend(args.iter().map(String::as_str));
                run(&all)
            }
            Step::Sysctl(key, value) => {
                let path = format!("/proc/sys/{key}");
                let _in = self.enter()?;
                std::fs::write(&path, value)
                    .map_err(|e| KernelError::BadTarget(format!("netns {}: {key} = {value}: {e}", self.name)))
            }
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Move the calling thread into the namespace until the result is dropped (test
    /// runs made meanwhile see its interfaces, routes and neighbours).
    pub fn enter(&self) -> Result<Entered, KernelError> {
        Ok(Entered { old: crate::sys::enter_netns(&self.name)? })
    }

    /// Names of the namespaces under /run/netns that this module's naming scheme made
    /// (`bpfbox-run-*`), for leak checks.
    pub fn leftovers() -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir("/run/netns")
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("bpfbox-run-"))
            .collect();
        v.sort();
        v
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = run(&["netns", "del", &self.name]);
    }
}
