//! Shared by the `bpfbox` kernel-command tests: the SKIP rule, running bpfbox,
//! network namespaces, cgroups, the probe target binary and leak checks.
#![allow(dead_code, clippy::unwrap_used)]

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

pub const BPFBOX: &str = env!("CARGO_BIN_EXE_bpfbox");

/// True when the kernel is usable; otherwise prints `SKIP: <reason>` (and fails under CI=true).
pub fn kernel_available() -> bool {
    bpfbox_kernel::available_or_skip()
}

/// Kernel tests of one binary run one at a time: they share program names (bbx_*),
/// trace_pipe and leak checks by name.
pub fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|p| p.into_inner())
}

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn kobj(name: &str) -> String {
    repo().join("tests/kernel").join(name).display().to_string()
}

pub fn prog_obj(name: &str) -> String {
    repo().join("tests/progs").join(name).display().to_string()
}

/// A name unique to this test process and `what` (≤ 15 chars where it matters).
pub fn unique(what: &str) -> String {
    format!("bpfbox-test-{}-{what}", std::process::id())
}

pub fn bpfbox(args: &[&str]) -> (i32, String, String) {
    let o = Command::new(BPFBOX).args(args).output().expect("bpfbox runs");
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

pub fn sh(cmd: &str, args: &[&str]) -> (i32, String, String) {
    let o = Command::new(cmd).args(args).output().unwrap_or_else(|e| panic!("{cmd}: {e}"));
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

pub fn must(cmd: &str, args: &[&str]) -> String {
    let (c, out, err) = sh(cmd, args);
    assert_eq!(c, 0, "{cmd} {args:?}: {err}");
    out
}

/// The helper process (tests/kernel/probe_target.c), built once with cc.
pub fn probe_target() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("probe_target-{}", std::process::id()));
        let src = repo().join("tests/kernel/probe_target.c");
        must("cc", &["-O2", "-g", "-o", &out.display().to_string(), &src.display().to_string()]);
        out
    })
    .clone()
}

/// Two network namespaces joined by a veth pair: `a` (10.199.1.1, iface `bbxa`) and
/// `b` (10.199.1.2, iface `bbxb`). Deleted on drop, with everything in them.
pub struct NetnsPair {
    pub a: String,
    pub b: String,
}

pub const ADDR_A: &str = "10.199.1.1";
pub const ADDR_B: &str = "10.199.1.2";

impl NetnsPair {
    pub fn new(tag: &str) -> NetnsPair {
        let p = NetnsPair { a: unique(&format!("{tag}-a")), b: unique(&format!("{tag}-b")) };
        must("ip", &["netns", "add", &p.a]);
        must("ip", &["netns", "add", &p.b]);
        must("ip", &["-n", &p.a, "link", "add", "bbxa", "type", "veth", "peer", "name", "bbxb", "netns", &p.b]);
        must("ip", &["-n", &p.a, "addr", "add", &format!("{ADDR_A}/24"), "dev", "bbxa"]);
        must("ip", &["-n", &p.b, "addr", "add", &format!("{ADDR_B}/24"), "dev", "bbxb"]);
        for (ns, dev) in [(&p.a, "bbxa"), (&p.b, "bbxb")] {
            must("ip", &["-n", ns, "link", "set", dev, "up"]);
            must("ip", &["-n", ns, "link", "set", "lo", "up"]);
        }
        p
    }

    /// Send `n` UDP datagrams from `a` to `b`:port.
    pub fn udp_a_to_b(&self, port: u16, n: u32) {
        let bin = probe_target();
        must(
            "ip",
            &["netns", "exec", &self.a, &bin.display().to_string(), "udp", ADDR_B, &port.to_string(), &n.to_string()],
        );
    }

    /// The qdiscs of `dev` in namespace `ns`.
    pub fn qdiscs(&self, ns: &str, dev: &str) -> String {
        must("ip", &["netns", "exec", ns, "tc", "qdisc", "show", "dev", dev])
    }
}

impl Drop for NetnsPair {
    fn drop(&mut self) {
        let _ = sh("ip", &["netns", "del", &self.a]);
        let _ = sh("ip", &["netns", "del", &self.b]);
    }
}

/// A cgroup v2 directory made for one test, removed on drop.
pub struct TestCgroup {
    pub path: PathBuf,
}

impl TestCgroup {
    pub fn new(tag: &str) -> Option<TestCgroup> {
        let root = ["/sys/fs/cgroup/unified", "/sys/fs/cgroup"]
            .into_iter()
            .map(PathBuf::from)
            .find(|p| p.join("cgroup.procs").exists() && is_cgroup2(p))?;
        let path = root.join(unique(tag));
        std::fs::create_dir(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        Some(TestCgroup { path })
    }

    /// Run `probe_target ARGS` inside this cgroup and wait for it.
    pub fn run(&self, args: &[&str]) -> String {
        let script = format!(
            "echo $$ > {}/cgroup.procs && exec {} {}",
            self.path.display(),
            probe_target().display(),
            args.join(" ")
        );
        must("sh", &["-c", &script])
    }
}

fn is_cgroup2(p: &Path) -> bool {
    p.join("cgroup.controllers").exists()
}

impl Drop for TestCgroup {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir(&self.path);
    }
}

/// A running `bpfbox attach --json`, its stdout lines arriving on a channel.
pub struct Attached {
    pub child: Child,
    pub lines: Receiver<String>,
    pub attached: Value,
}

impl Attached {
    /// Start `bpfbox attach ARGS --json` and wait for its `attached` line.
    pub fn start(args: &[&str]) -> Result<Attached, String> {
        let mut cmd = Command::new(BPFBOX);
        cmd.arg("attach").args(args).arg("--json").stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = cmd.spawn().map_err(|e| e.to_string())?;
        let out = child.stdout.take().ok_or("no stdout")?;
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let first = rx.recv_timeout(Duration::from_secs(20));
        match first {
            Ok(l) => {
                let v: Value = serde_json::from_str(&l).map_err(|e| format!("{e}: {l}"))?;
                if v["event"] != "attached" {
                    return Err(format!("first line is not `attached`: {l}"));
                }
                Ok(Attached { child, lines: rx, attached: v })
            }
            Err(_) => {
                let o = child.wait_with_output().map_err(|e| e.to_string())?;
                Err(format!(
                    "bpfbox attach {args:?} exited {:?}: {}",
                    o.status.code(),
                    String::from_utf8_lossy(&o.stderr)
                ))
            }
        }
    }

    /// Ctrl-C, then every remaining stdout line as JSON, the exit code and stderr.
    pub fn stop(mut self) -> (Vec<Value>, i32, String) {
        let pid = self.child.id().to_string();
        must("kill", &["-INT", &pid]);
        let mut stderr = String::new();
        if let Some(mut e) = self.child.stderr.take() {
            use std::io::Read;
            let _ = e.read_to_string(&mut stderr);
        }
        let status = self.child.wait().expect("wait");
        let mut lines = Vec::new();
        while let Ok(l) = self.lines.recv_timeout(Duration::from_secs(5)) {
            lines.push(serde_json::from_str(&l).unwrap_or_else(|e| panic!("{e}: {l}")));
        }
        (lines, status.code().unwrap_or(-1), stderr)
    }
}

/// The entries of map `name` from `attach --dump-maps --json` lines, as (key, value) bytes.
pub fn map_entries(lines: &[Value], name: &str) -> Vec<(Vec<u8>, Vec<u8>)> {
    let m = lines
        .iter()
        .find(|l| l["event"] == "map" && l["name"] == name)
        .unwrap_or_else(|| panic!("no map {name} in {lines:?}"));
    m["entries"].as_array().unwrap().iter().map(|e| (bytes(&e["key"]), bytes(&e["value"]))).collect()
}

pub fn bytes(v: &Value) -> Vec<u8> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|b| u8::from_str_radix(b.as_str().unwrap().trim_start_matches("0x"), 16).unwrap())
        .collect()
}

pub fn unhex(s: &str) -> Vec<u8> {
    (0..s.len() / 2).map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap()).collect()
}

pub fn u32_at(b: &[u8], off: usize) -> u32 {
    u32::from_le_bytes(b[off..off + 4].try_into().unwrap())
}

pub fn u64_at(b: &[u8], off: usize) -> u64 {
    u64::from_le_bytes(b[off..off + 8].try_into().unwrap())
}

/// The array slot `slot` of an 8-byte-value array map dump.
pub fn slot(entries: &[(Vec<u8>, Vec<u8>)], slot: u32) -> u64 {
    entries.iter().find(|(k, _)| u32_at(k, 0) == slot).map(|(_, v)| u64_at(v, 0)).unwrap_or(0)
}

/// Wait until `cond()` holds (the kernel frees programs and maps after an RCU grace period).
pub fn eventually(what: &str, cond: impl Fn() -> bool) {
    let start = Instant::now();
    while !cond() {
        if start.elapsed() > Duration::from_secs(10) {
            panic!("still true after 10 s: {what}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Nothing of the tests' own objects (programs and maps named bbx_*, links to them,
/// pins under /sys/fs/bpf named bpfbox-test-<pid>*) remains in the kernel.
pub fn assert_no_leaks() {
    use bpfbox_kernel::inspect;
    eventually("programs named bbx_* still loaded", || {
        inspect::prog_list().unwrap().iter().all(|p| !p.name.starts_with("bbx_"))
    });
    eventually("maps named bbx_* still present", || {
        inspect::map_list().unwrap().iter().all(|m| !m.name.starts_with("bbx_"))
    });
    let progs: Vec<u32> = inspect::prog_list().unwrap().iter().map(|p| p.id).collect();
    for l in inspect::link_list().unwrap() {
        assert!(progs.contains(&l.prog_id) || l.prog_id == 0, "link {} to a vanished program", l.id);
    }
    let prefix = format!("bpfbox-test-{}", std::process::id());
    if let Ok(rd) = std::fs::read_dir("/sys/fs/bpf") {
        for e in rd.flatten() {
            assert!(!e.file_name().to_string_lossy().starts_with(&prefix), "pin left behind: {}", e.path().display());
        }
    }
}
