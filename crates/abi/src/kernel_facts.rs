//! Facts about one kernel build that bpfbox carries as data, stamped with the kernel they
//! came from.
//!
//! Two builds of one release (`uname -r` unchanged) can differ in their configuration
//! and so in what programs may do: which helpers a program type may call is decided by
//! the kernel's `get_func_proto` callbacks, which depend on `CONFIG_*` options. So every
//! table of such facts records the release and a hash of the kernel's BTF
//! (`/sys/kernel/btf/vmlinux`), which changes whenever the build does.
//!
//! A facts file is text, one fact per line (`#` starts a comment):
//!
//! ```text
//! release 6.18.44-fc-v657
//! btf_hash 0x3f1c2a9b8d7e6f50
//! helpers 6 37 0 ok=0x..,0x..,0x..,0x.. sleep=0,0,0x..,0 probe=0,0,0,0   # prog type, attach type (- for 0), sleepable
//! not_probed 26 24 errno 1, empty log
//! ```
//!
//! The committed file (`helper_access/linux.facts`) is what bpfbox uses when it cannot
//! ask the running kernel; `bpfbox_kernel::facts` probes the running kernel and writes
//! the same format (`bpfbox feature probe`).

use crate::helper_access::{HelperSet, HelperTable, NotProbed, Row};
use crate::prog_types::{AttachType, ProgType};
use std::fmt;
use std::sync::OnceLock;

/// The kernel build a table of facts came from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct KernelStamp {
    /// `uname -r`.
    pub release: String,
    /// [`btf_hash`] of the kernel's `/sys/kernel/btf/vmlinux` (`None`: not recorded).
    pub btf_hash: Option<u64>,
}

impl KernelStamp {
    /// Whether both stamps name the same build (same release and BTF; an unrecorded
    /// hash never matches).
    pub fn same_build(&self, other: &KernelStamp) -> bool {
        self.release == other.release && self.btf_hash.is_some() && self.btf_hash == other.btf_hash
    }
}

impl fmt::Display for KernelStamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.btf_hash {
            Some(h) => write!(f, "Linux {}, BTF {h:016x}", self.release),
            None => write!(f, "Linux {}, BTF hash not recorded", self.release),
        }
    }
}

/// A stable 64-bit hash of a kernel's BTF bytes (FNV-1a; stable across Rust versions
/// and machines, which `std`'s hashers are not).
pub fn btf_hash(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

/// What one kernel build allows, as bpfbox's verifier uses it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelFacts {
    pub stamp: KernelStamp,
    /// Which helpers each program type may call.
    pub helpers: HelperTable,
}

/// A facts file that does not parse: the line (1-based) and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {msg}")]
pub struct FactsError {
    pub line: usize,
    pub msg: String,
}

/// The committed facts file (see the module documentation).
const COMMITTED: &str = include_str!("helper_access/linux.facts");

impl KernelFacts {
    /// The facts committed with bpfbox (`crates/abi/src/helper_access/linux.facts`),
    /// generated from the kernel build their stamp names.
    pub fn committed() -> &'static KernelFacts {
        static FACTS: OnceLock<KernelFacts> = OnceLock::new();
        // A unit test parses the committed file, so this cannot fail in a build that passed its tests.
        FACTS.get_or_init(|| {
            KernelFacts::parse(COMMITTED).unwrap_or_else(|e| panic!("the committed kernel facts file is invalid: {e}"))
        })
    }

    /// Parse a facts file (see the module documentation).
    pub fn parse(text: &str) -> Result<KernelFacts, FactsError> {
        let (mut release, mut btf_hash) = (None, None);
        let mut helpers = HelperTable::default();
        for (i, raw) in text.lines().enumerate() {
            let err = |msg: String| FactsError { line: i + 1, msg };
            let line = raw.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let (key, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
            let rest = rest.trim();
            match key {
                "release" if !rest.is_empty() => release = Some(rest.to_string()),
                "btf_hash" => {
                    btf_hash = match rest {
                        "unknown" => None,
                        h => Some(parse_u64(h).ok_or_else(|| err(format!("bad btf_hash `{h}`")))?),
                    }
                }
                "helpers" => helpers.rows.push(parse_row(rest).map_err(err)?),
                "not_probed" => {
                    let mut w = rest.splitn(3, ' ');
                    let prog_type = prog_type(w.next().unwrap_or("")).map_err(err)?;
                    let attach = attach_type(w.next().unwrap_or("")).map_err(err)?;
                    let why = w.next().unwrap_or("").to_string();
                    helpers.not_probed.push(NotProbed { prog_type, attach, why });
                }
                _ => return Err(err(format!("unknown line `{line}`"))),
            }
        }
        let release = release.ok_or(FactsError { line: 0, msg: "no `release` line".into() })?;
        Ok(KernelFacts { stamp: KernelStamp { release, btf_hash }, helpers })
    }

    /// The facts as a facts file (what [`KernelFacts::parse`] reads).
    pub fn to_text(&self, header: &str) -> String {
        let mut out = String::new();
        for l in header.lines() {
            out.push_str(&format!("# {l}\n").replace("# \n", "#\n"));
        }
        out.push_str(&format!("release {}\n", self.stamp.release));
        match self.stamp.btf_hash {
            Some(h) => out.push_str(&format!("btf_hash {h:#018x}\n")),
            None => out.push_str("btf_hash unknown\n"),
        }
        out.push_str("\n# helpers PROG_TYPE ATTACH_TYPE SLEEPABLE ok=.. sleep=.. probe=..: bit id%64 of word id/64\n");
        out.push_str("# is set when helper `id` may be called (ok) or was refused as \"might sleep in a\n");
        out.push_str("# non-sleepable prog\" (sleep) or \"not allowed in probe\" (probe); clear in all three:\n");
        out.push_str("# \"program of this type cannot use helper\".\n");
        for r in &self.helpers.rows {
            out.push_str(&format!(
                "helpers {} {} {} ok={} sleep={} probe={}  # {} {}\n",
                r.prog_type.number(),
                r.attach.map_or("-".to_string(), |a| a.number().to_string()),
                u8::from(r.sleepable),
                words(&r.ok),
                words(&r.sleep),
                words(&r.probe),
                r.prog_type.name(),
                r.attach.map_or("-".to_string(), |a| format!("{a:?}")),
            ));
        }
        out.push_str("\n# not_probed PROG_TYPE ATTACH_TYPE WHY: the kernel would not load `r0 = 0; exit` there\n");
        for n in &self.helpers.not_probed {
            out.push_str(&format!(
                "not_probed {} {} {}\n",
                n.prog_type.number(),
                n.attach.map_or("-".to_string(), |a| a.number().to_string()),
                n.why
            ));
        }
        out
    }

    /// How `other` differs from these facts, one line per difference (empty: the same
    /// helpers everywhere): configurations only one side has, and per configuration the
    /// helpers only one side allows.
    pub fn helper_differences(&self, other: &KernelFacts) -> Vec<String> {
        let key = |r: &Row| (r.prog_type, r.attach, r.sleepable);
        let label = |r: &Row| {
            let a = r.attach.map_or(String::new(), |a| format!("/{a:?}"));
            format!("{}{a}{}", r.prog_type.name(), if r.sleepable { " (sleepable)" } else { "" })
        };
        let names = |w: &HelperSet| -> String {
            (1..=crate::MAX_HELPER_ID)
                .filter(|&id| crate::helper_access::contains(w, id))
                .map(|id| crate::helper_by_id(id).map_or(format!("#{id}"), |p| format!("bpf_{}#{id}", p.name)))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut out = Vec::new();
        for a in &self.helpers.rows {
            match other.helpers.rows.iter().find(|b| key(b) == key(a)) {
                None => out.push(format!("{}: only in {}", label(a), self.stamp)),
                Some(b) => {
                    for (what, x, y) in
                        [("ok", &a.ok, &b.ok), ("sleep", &a.sleep, &b.sleep), ("probe", &a.probe, &b.probe)]
                    {
                        let gone: HelperSet = std::array::from_fn(|i| x[i] & !y[i]);
                        let new: HelperSet = std::array::from_fn(|i| y[i] & !x[i]);
                        let tag = if what == "ok" { String::new() } else { format!(" ({what})") };
                        if gone != [0; 4] {
                            out.push(format!("{}{tag}: only {} has {}", label(a), self.stamp, names(&gone)));
                        }
                        if new != [0; 4] {
                            out.push(format!("{}{tag}: only {} has {}", label(a), other.stamp, names(&new)));
                        }
                    }
                }
            }
        }
        for b in other.helpers.rows.iter().filter(|b| !self.helpers.rows.iter().any(|a| key(a) == key(b))) {
            out.push(format!("{}: only in {}", label(b), other.stamp));
        }
        out
    }
}

fn words(w: &HelperSet) -> String {
    w.iter().map(|&x| if x == 0 { "0".to_string() } else { format!("{x:#018x}") }).collect::<Vec<_>>().join(",")
}

fn parse_u64(s: &str) -> Option<u64> {
    match s.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16).ok(),
        None => s.parse().ok(),
    }
}

fn prog_type(s: &str) -> Result<ProgType, String> {
    s.parse().ok().and_then(ProgType::from_number).ok_or_else(|| format!("bad program type number `{s}`"))
}

fn attach_type(s: &str) -> Result<Option<AttachType>, String> {
    if s == "-" {
        return Ok(None);
    }
    s.parse().ok().and_then(AttachType::from_number).map(Some).ok_or_else(|| format!("bad attach type number `{s}`"))
}

fn parse_set(field: &str, name: &str) -> Result<HelperSet, String> {
    let v = field.strip_prefix(name).and_then(|f| f.strip_prefix('=')).ok_or_else(|| format!("expected {name}=..."))?;
    let w: Vec<u64> =
        v.split(',').map(parse_u64).collect::<Option<_>>().ok_or_else(|| format!("bad {name} words `{v}`"))?;
    <HelperSet>::try_from(w).map_err(|_| format!("{name} needs 4 words"))
}

/// `PROG_TYPE ATTACH_TYPE SLEEPABLE ok=.. sleep=.. probe=..`.
fn parse_row(s: &str) -> Result<Row, String> {
    let f: Vec<&str> = s.split_whitespace().collect();
    let [t, a, sl, ok, sleep, probe] = f[..] else {
        return Err(format!("a helpers line has 6 fields, got {}", f.len()));
    };
    let sleepable = match sl {
        "0" => false,
        "1" => true,
        _ => return Err(format!("sleepable is 0 or 1, got `{sl}`")),
    };
    Ok(Row {
        prog_type: prog_type(t)?,
        attach: attach_type(a)?,
        sleepable,
        ok: parse_set(ok, "ok")?,
        sleep: parse_set(sleep, "sleep")?,
        probe: parse_set(probe, "probe")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn committed_facts_parse_and_round_trip() {
        let f = KernelFacts::parse(COMMITTED).expect("committed facts");
        assert!(f.helpers.rows.len() > 50, "{}", f.helpers.rows.len());
        assert!(f.helpers.allowed_pairs() > 5000);
        let again = KernelFacts::parse(&f.to_text("header\n\nline")).expect("round trip");
        assert_eq!(again, f);
        assert!(f.helper_differences(&again).is_empty());
    }

    #[test]
    fn differences_name_helpers_and_kernels() {
        let a = KernelFacts::committed().clone();
        let mut b = a.clone();
        b.stamp.release = "other".into();
        let xdp = b.helpers.rows.iter_mut().find(|r| r.prog_type == ProgType::Xdp).expect("xdp row");
        xdp.ok[0] &= !(1 << 5); // bpf_ktime_get_ns
        let d = a.helper_differences(&b);
        assert_eq!(d.len(), 1, "{d:?}");
        assert!(d[0].starts_with("xdp") && d[0].contains("bpf_ktime_get_ns#5"), "{d:?}");
        assert!(d[0].contains(&a.stamp.release), "{d:?}");
    }

    #[test]
    fn bad_files_say_where() {
        let e = KernelFacts::parse("release x\nhelpers 6 37 0 ok=1,2,3 sleep=0,0,0,0 probe=0,0,0,0\n").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.msg.contains("4 words"), "{e}");
        assert_eq!(KernelFacts::parse("btf_hash 0x1\n").unwrap_err().msg, "no `release` line");
        assert!(KernelFacts::parse("release x\nwhat\n").unwrap_err().msg.contains("unknown line"));
        assert!(KernelFacts::parse("release x\nhelpers 99 - 0 ok=0,0,0,0 sleep=0,0,0,0 probe=0,0,0,0\n").is_err());
    }

    #[test]
    fn stamps() {
        let s = KernelStamp { release: "6.18".into(), btf_hash: Some(btf_hash(b"abc")) };
        assert!(s.same_build(&s.clone()));
        assert!(!s.same_build(&KernelStamp { btf_hash: Some(1), ..s.clone() }));
        let unknown = KernelStamp { btf_hash: None, ..s.clone() };
        assert!(!unknown.same_build(&unknown));
        assert_eq!(btf_hash(b""), 0xcbf2_9ce4_8422_2325);
    }
}
