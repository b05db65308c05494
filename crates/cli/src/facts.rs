//! Which kernel build `verify` (and `run`'s verification step) is faithful to: the
//! running kernel's facts when it can be asked, the facts committed with bpfbox
//! otherwise, or a facts file given with `--kernel-facts FILE` (`bpfbox feature probe`
//! writes one on the machine it describes).

use crate::CliError;
use bpfbox_abi::kernel_facts::KernelFacts;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::sync::Arc;

/// `--kernel-facts`: where the kernel facts come from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum FactsChoice {
    /// The running kernel's when it can be asked (root, bpf(), BTF), else the committed ones.
    #[default]
    Auto,
    /// The running kernel's, or an error.
    Running,
    /// The facts committed with bpfbox.
    Committed,
    /// A facts file.
    File(PathBuf),
}

impl FactsChoice {
    /// `auto`, `running`, `committed`, or a file path.
    pub fn parse(s: &str) -> FactsChoice {
        match s {
            "auto" => FactsChoice::Auto,
            "running" => FactsChoice::Running,
            "committed" => FactsChoice::Committed,
            f => FactsChoice::File(PathBuf::from(f)),
        }
    }
}

/// The facts chosen, and a description of where they came from.
#[derive(Debug, Clone)]
pub struct UsedFacts {
    /// `None`: the committed facts (the verifier's default).
    pub facts: Option<Arc<KernelFacts>>,
    /// `running`, `committed` or `file`.
    pub source: &'static str,
    /// For people: which kernel, and why these facts.
    pub detail: String,
}

impl UsedFacts {
    fn facts(&self) -> &KernelFacts {
        self.facts.as_deref().unwrap_or_else(|| KernelFacts::committed())
    }

    /// `kernel facts: ...`, the line `verify` prints on stderr.
    pub fn line(&self) -> String {
        format!("kernel facts: {}", self.detail)
    }

    /// The `kernel_facts` field of `verify --json`.
    pub fn to_json(&self) -> Value {
        let s = &self.facts().stamp;
        json!({
            "source": self.source,
            "release": s.release,
            "btf_hash": s.btf_hash.map(|h| format!("{h:016x}")),
            "detail": self.detail,
        })
    }
}

fn committed(why: &str) -> UsedFacts {
    let c = KernelFacts::committed();
    UsedFacts { facts: None, source: "committed", detail: format!("committed with bpfbox ({}){why}", c.stamp) }
}

/// Resolve a choice (files are read and parsed; the running kernel is probed once per
/// build and cached: `bpfbox_kernel::facts::running_facts`).
pub fn resolve(choice: &FactsChoice) -> Result<UsedFacts, CliError> {
    match choice {
        FactsChoice::Committed => Ok(committed("")),
        FactsChoice::File(path) => {
            let text = crate::read_text(path)?;
            let f = KernelFacts::parse(&text).map_err(|e| CliError::input(path, format!("kernel facts: {e}")))?;
            let detail = format!("from {} ({})", path.display(), f.stamp);
            Ok(UsedFacts { facts: Some(Arc::new(f)), source: "file", detail })
        }
        FactsChoice::Running => running().map_err(|why| CliError::usage(format!("--kernel-facts running: {why}"))),
        FactsChoice::Auto => Ok(running().unwrap_or_else(|why| committed(&format!("; the running kernel: {why}")))),
    }
}

#[cfg(feature = "kernel")]
fn running() -> Result<UsedFacts, String> {
    use bpfbox_kernel::facts;
    let stamp = facts::running_stamp();
    let c = KernelFacts::committed();
    if c.stamp.same_build(&stamp) {
        return Ok(UsedFacts {
            facts: None,
            source: "running",
            detail: format!("the running kernel's ({stamp}; the committed facts are this build's)"),
        });
    }
    let cache = facts::cache_dir();
    let (f, origin) = facts::running_facts(cache.as_deref()).map_err(|e| e.to_string())?;
    let how = match origin {
        facts::Origin::Probed => "probed now",
        facts::Origin::Cached => "probed earlier, cached",
    };
    let detail = format!("the running kernel's ({}; {how})", f.stamp);
    Ok(UsedFacts { facts: Some(Arc::new(f)), source: "running", detail })
}

#[cfg(not(feature = "kernel"))]
fn running() -> Result<UsedFacts, String> {
    Err("this bpfbox was built without the kernel backend (the `kernel` feature)".to_string())
}
