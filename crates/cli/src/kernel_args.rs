//! The kernel subcommands' arguments (`load`, `attach`, `detach`, `prog`, `map`), parsed
//! whether or not this `bpfbox` was built with the kernel backend (the `kernel` feature),
//! so a build without it names the feature instead of calling the verbs unknown.

use clap::{Subcommand, ValueEnum};
use std::path::PathBuf;

/// Subcommands that act on the running kernel.
#[derive(Subcommand, Debug)]
pub enum KernelCmd {
    /// Programs loaded in the kernel: list, show ID, dump xlated ID, dump jited ID.
    Prog {
        #[command(subcommand)]
        cmd: ProgCmd,
    },
    /// Maps in the kernel: list, show, dump, lookup, update, delete (keys and values in hex).
    Map {
        #[command(subcommand)]
        cmd: MapCmd,
    },
    /// Load an object into the kernel (every program and map, as libbpf does); with
    /// --pin they stay loaded under DIR on bpffs, and maps the object pins by name
    /// (LIBBPF_PIN_BY_NAME) are pinned under /sys/fs/bpf as libbpf does it (without
    /// --pin they are neither pinned nor reused).
    Load {
        /// A clang-built BPF ELF object.
        obj: PathBuf,
        /// Pin programs at DIR/<prog> and maps at DIR/maps/<map> (a directory on bpffs,
        /// e.g. /sys/fs/bpf/myobj; bpffs is mounted at /sys/fs/bpf if needed).
        #[arg(long, value_name = "DIR")]
        pin: Option<PathBuf>,
        #[command(flatten)]
        open: OpenArgs,
        #[arg(long)]
        json: bool,
    },
    /// Load an object, attach one program and stream its events until Ctrl-C or --duration.
    ///
    /// Ring-buffer, perf-buffer and trace_pipe events are printed as they come; then the
    /// program is detached (unless --pin) and, with --dump-maps, the maps are printed.
    ///
    /// TARGET is one of:
    ///   xdp IFACE [--mode generic|driver] |
    ///   tc IFACE ingress|egress |
    ///   tracepoint [CATEGORY:NAME] |
    ///   raw_tracepoint [NAME] |
    ///   uprobe BINARY:SYMBOL|BINARY:0xOFFSET [--ret] [--pid PID] |
    ///   perf_event software:cpu-clock|hardware:cycles|... [--freq HZ] |
    ///   cgroup_skb CGROUP_DIR ingress|egress |
    ///   cgroup_sock CGROUP_DIR
    #[command(verbatim_doc_comment)]
    Attach {
        /// A clang-built BPF ELF object.
        obj: PathBuf,
        /// The program to attach (may be left out when the object has only one).
        #[arg(long)]
        prog: Option<String>,
        /// Where to attach (see above).
        #[arg(required = true, num_args = 1.., value_name = "TARGET")]
        target: Vec<String>,
        /// XDP mode.
        #[arg(long, value_enum)]
        mode: Option<XdpModeArg>,
        /// uprobe: probe the function's return (uretprobe).
        #[arg(long)]
        ret: bool,
        /// uprobe: only this process.
        #[arg(long)]
        pid: Option<i32>,
        /// perf_event: sampling frequency in Hz.
        #[arg(long, default_value_t = 99)]
        freq: u64,
        /// xdp/tc: the network namespace of the interface (`ip netns` name or path).
        #[arg(long)]
        netns: Option<String>,
        /// Stop after this many seconds (default: until Ctrl-C).
        #[arg(long, value_name = "SECS")]
        duration: Option<f64>,
        /// Print every map of the object after detaching.
        #[arg(long)]
        dump_maps: bool,
        /// Keep the attachment after exit: pin the link at DIR/link and maps at DIR/maps/
        /// (`bpfbox detach DIR` removes them).
        #[arg(long, value_name = "DIR")]
        pin: Option<PathBuf>,
        #[command(flatten)]
        open: OpenArgs,
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
    },
    /// Detach and remove a pinned link, program or map, or everything under a pinned directory.
    Detach {
        path: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// What the running kernel allows (bpftool's `feature`): `feature probe` asks it
    /// which helpers each program type may call and prints a kernel facts file, stamped
    /// with the release and BTF hash, for `bpfbox verify --kernel-facts FILE` elsewhere.
    Feature {
        #[command(subcommand)]
        cmd: FeatureCmd,
    },
}

#[derive(Subcommand, Debug)]
pub enum FeatureCmd {
    /// Probe the running kernel (about 14,000 trivial loads, under a second) and print
    /// its facts file; `--diff` compares it with the facts committed with bpfbox instead.
    Probe {
        /// Write the facts here instead of stdout.
        #[arg(short, long)]
        output: Option<PathBuf>,
        /// Print how the running kernel differs from the committed facts (exit 1 if it does).
        #[arg(long, conflicts_with = "output")]
        diff: bool,
    },
}

/// How to open an object (shared by load and attach).
#[derive(clap::Args, Debug, Clone)]
pub struct OpenArgs {
    /// Give a program a type before loading (for sections libbpf does not know):
    /// PROG=TYPE, TYPE like xdp, sched_cls, socket_filter, or a section name like tc.
    #[arg(long = "type", value_name = "PROG=TYPE")]
    pub types: Vec<String>,
    /// vmlinux BTF for CO-RE relocations instead of /sys/kernel/btf/vmlinux.
    #[arg(long, value_name = "FILE")]
    pub btf: Option<PathBuf>,
    /// On a verifier rejection, print the whole verifier log (default: its last lines).
    #[arg(long)]
    pub log: bool,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum XdpModeArg {
    Generic,
    Driver,
}

#[derive(Subcommand, Debug)]
pub enum ProgCmd {
    /// Every loaded program.
    #[command(alias = "show-all")]
    List {
        #[arg(long)]
        json: bool,
    },
    /// One program: `show ID`, `show id ID` or `show pinned PATH`.
    Show {
        #[arg(num_args = 1..=2, value_name = "PROG")]
        prog: Vec<String>,
        #[arg(long)]
        json: bool,
    },
    /// Instructions of a loaded program: `dump xlated ID` or `dump jited ID`.
    Dump {
        #[arg(value_enum)]
        what: DumpWhat,
        #[arg(num_args = 1..=2, value_name = "PROG")]
        prog: Vec<String>,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum DumpWhat {
    /// The kernel's translated eBPF, disassembled by bpfbox.
    Xlated,
    /// The JIT's native code, as hex.
    Jited,
}

#[derive(Subcommand, Debug)]
pub enum MapCmd {
    /// Every map.
    #[command(alias = "show-all")]
    List {
        #[arg(long)]
        json: bool,
    },
    /// One map: `show ID`, `show id ID` or `show pinned PATH`.
    Show {
        #[arg(num_args = 1..=2, value_name = "MAP")]
        map: Vec<String>,
        #[arg(long)]
        json: bool,
    },
    /// Every entry of a map.
    Dump {
        #[arg(num_args = 1..=2, value_name = "MAP")]
        map: Vec<String>,
        #[arg(long)]
        json: bool,
    },
    /// `lookup ID [key] [hex] BYTES...`
    Lookup {
        #[arg(num_args = 2.., value_name = "ARGS")]
        args: Vec<String>,
        #[arg(long)]
        json: bool,
    },
    /// `update ID key [hex] BYTES... value [hex] BYTES... [any|noexist|exist]`
    Update {
        #[arg(num_args = 5.., value_name = "ARGS")]
        args: Vec<String>,
    },
    /// `delete ID [key] [hex] BYTES...`
    Delete {
        #[arg(num_args = 2.., value_name = "ARGS")]
        args: Vec<String>,
    },
}
