//! The loader: a clang-built BPF object turned into runnable programs and map
//! definitions, following libbpf 1.x's conventions (`bpf_object__open` + the
//! relocation half of `bpf_object__load`).
//!
//! - Programs: every function symbol of every executable section but `.text`, typed
//!   from its section name ([`bpfbox_abi::prog_types::from_section`]); an unknown
//!   section gives a program of unknown type, never an error. `.text` functions are
//!   sub-programs, appended to each program that calls them (transitively, depth
//!   first, in call order — libbpf's `bpf_object__reloc_code`). An object with no
//!   program section exposes its global `.text` functions as programs.
//! - Maps: legacy `maps` (`struct bpf_map_def`, several per section), BTF-defined
//!   `.maps` (with `__array(values, ...)` inner maps and initial slots), global data
//!   (`.data`, `.rodata`, `.bss`, `.data.*`, `.rodata.*`, `.bss.*`) as one-element
//!   arrays named as libbpf names them, and `.kconfig` externs as a read-only map.
//! - Relocations: `lddw` of maps (`Imm64::MapIdx`) and global data
//!   (`Imm64::MapIdxValue`), bpf-to-bpf calls and function pointers, externs
//!   (kfuncs as `call` with BTF id 0, ksyms as `Imm64::BtfId` 0), CO-RE against a
//!   target BTF (see [`crate::relo_core`]).
//! - `.BTF.ext` function and line info, re-based onto the final instructions.

use crate::btf::{Btf, BtfError, Kind, VAR_GLOBAL_ALLOCATED, VAR_STATIC};
use crate::btf_ext::{BtfExt, CoreRelo, CoreReloKind};
use crate::elf_file::{Elf, Symbol};
use crate::error::ObjectError;
use crate::relo_core::{self as core, Relocator};
use bpfbox_abi::prog_types::{self, AttachType, ProgType};
use bpfbox_isa::{decode_program, CallTarget, DecodeError, Imm64, Insn};
use object::elf as E;
use std::collections::HashMap;
use std::sync::Arc;

mod externs;
mod map_defs;
use externs::*;
use map_defs::*;

/// Kernel map type numbers used here (`enum bpf_map_type`).
mod map_type {
    pub const ARRAY: u32 = 2;
    pub const PROG_ARRAY: u32 = 3;
    pub const PERF_EVENT_ARRAY: u32 = 4;
    pub const ARRAY_OF_MAPS: u32 = 12;
    pub const HASH_OF_MAPS: u32 = 13;
}

/// `BPF_F_RDONLY_PROG`, `BPF_F_MMAPABLE`.
const BPF_F_RDONLY_PROG: u32 = 1 << 7;
const BPF_F_MMAPABLE: u32 = 1 << 10;
/// `BPF_OBJ_NAME_LEN`.
const OBJ_NAME_LEN: usize = 16;

/// Options of [`load`].
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// BTF to resolve CO-RE relocations against (the kernel's
    /// `/sys/kernel/btf/vmlinux`, or a file the user names). `None`: an object with
    /// CO-RE relocations fails to load with [`LoadError::NoTargetBtf`].
    pub target_btf: Option<Arc<Btf>>,
    /// Program type overrides (`--type NAME=TYPE`), by program (function) name or
    /// by section name.
    pub prog_types: Vec<(String, ProgType)>,
    /// The object's name for global-data map names (`<name>.rodata`): a file name
    /// is cut at its first `.` as libbpf does. Default `obj`.
    pub object_name: Option<String>,
    /// `LINUX_KERNEL_VERSION` for `.kconfig` externs (default 0).
    pub kernel_version: u32,
    /// Values of `.kconfig` externs as `.config` spells them
    /// (`("CONFIG_HZ", "250")`, `("CONFIG_BPF_SYSCALL", "y")`,
    /// `("CONFIG_DEFAULT_HOSTNAME", "\"box\"")`). Missing ones are zero.
    pub kconfig: Vec<(String, String)>,
}

/// A loaded object.
#[derive(Debug, Clone)]
pub struct LoadedObject {
    /// Entry-point programs, in section then offset order.
    pub programs: Vec<ProgramSpec>,
    /// Entry points that cannot be built (a function of theirs cannot be decoded, a
    /// call leads nowhere ...), each with why; the other programs load without them.
    pub unusable: Vec<UnusableProgram>,
    /// Maps: legacy `maps`, then `.maps`, then global data, then `.kconfig`.
    pub maps: Vec<MapSpec>,
    /// The `license` section (up to its NUL); empty when absent.
    pub license: String,
    /// The object's BTF (data section sizes and variable offsets fixed up).
    pub btf: Option<Arc<Btf>>,
    /// The legacy `version` section.
    pub kern_version: Option<u32>,
    /// Every extern the object declares.
    pub externs: Vec<ExternSpec>,
    /// Things skipped or approximated (unknown data sections, relocations outside
    /// any function ...).
    pub warnings: Vec<String>,
}

impl LoadedObject {
    /// Give the kfunc calls bpfbox's runtime implements bpfbox's ids for them
    /// ([`bpfbox_abi::kfuncs`]), as libbpf gives kfunc calls the kernel's BTF ids; the
    /// other kfunc calls keep id 0, refused when a verifier or a run reaches them. For
    /// running and verifying in user space (a kernel load uses the kernel's ids).
    pub fn use_bpfbox_kfunc_ids(&mut self) {
        for p in &mut self.programs {
            for x in p.externs.iter().filter(|x| x.kind == ExternKind::Kfunc) {
                if let (Some(id), Some(Insn::Call(t @ CallTarget::Kfunc { .. }))) =
                    (bpfbox_abi::kfuncs::kfunc_id(&x.name), p.insns.get_mut(x.insn))
                {
                    *t = CallTarget::Kfunc { btf_id: id, off: 0 };
                }
            }
        }
    }

    /// The program named `name`.
    pub fn program(&self, name: &str) -> Option<&ProgramSpec> {
        self.programs.iter().find(|p| p.name == name)
    }
    /// The index of the map named `name` (also its ELF section name for global data).
    pub fn map_index(&self, name: &str) -> Option<usize> {
        self.maps.iter().position(|m| m.name == name || m.global_section.as_deref() == Some(name))
    }
    /// The map named `name`.
    pub fn map(&self, name: &str) -> Option<&MapSpec> {
        self.map_index(name).map(|i| &self.maps[i])
    }
}

/// One entry-point program, fully relocated.
#[derive(Debug, Clone, PartialEq)]
pub struct ProgramSpec {
    /// The function's name (as libbpf and bpftool name programs).
    pub name: String,
    /// The ELF section.
    pub section: String,
    /// From the section name, or a `--type` override; `None` when libbpf does not
    /// know the section.
    pub prog_type: Option<ProgType>,
    pub expected_attach_type: Option<AttachType>,
    /// `syscalls/sys_enter_openat` for `tracepoint/syscalls/sys_enter_openat` ...
    pub attach_target: Option<String>,
    /// `SEC_SLEEPABLE` sections (`fentry.s/...`, `syscall` ...).
    pub sleepable: bool,
    /// Slot-indexed instructions: the function, then the `.text` sub-programs it
    /// uses; maps as `Imm64::MapIdx(i)`, global data as `Imm64::MapIdxValue` (`i`
    /// indexes [`LoadedObject::maps`]), calls resolved, CO-RE applied.
    pub insns: Vec<Insn>,
    pub func_info: Vec<FuncInfo>,
    pub line_info: Vec<LineInfo>,
    /// Every CO-RE relocation applied to `insns` and what became of it.
    pub core_relos: Vec<CoreReloReport>,
    /// Instructions that reference externs (kfunc calls, ksym addresses).
    pub externs: Vec<ExternRef>,
}

impl ProgramSpec {
    /// The CO-RE relocations that left a poisoned instruction or failed.
    pub fn unresolved(&self) -> impl Iterator<Item = &CoreReloReport> {
        self.core_relos.iter().filter(|r| !matches!(r.outcome, CoreOutcome::Patched { .. }))
    }
    /// The source line of instruction `insn` (the closest line info at or before it).
    pub fn line_of(&self, insn: usize) -> Option<&LineInfo> {
        self.line_info.iter().rev().find(|l| l.insn_off <= insn)
    }
}

/// `bpf_func_info`, in final instruction indices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FuncInfo {
    pub insn_off: usize,
    /// The BTF `FUNC` type.
    pub type_id: u32,
    pub name: String,
}

/// `bpf_line_info`, in final instruction indices, with its strings resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineInfo {
    pub insn_off: usize,
    pub file: String,
    pub line: u32,
    pub col: u32,
    /// The source line's text.
    pub text: String,
}

/// One CO-RE relocation, in final instruction indices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoreReloReport {
    pub insn: usize,
    pub kind: CoreReloKind,
    /// Local access path (`task_struct.pid`, `enum foo::BAR`).
    pub local: String,
    /// The target access path it matched, if any.
    pub target: Option<String>,
    pub outcome: CoreOutcome,
}

/// What a CO-RE relocation did to its instruction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CoreOutcome {
    /// The instruction now holds `new` (the compiler wrote `orig`).
    Patched { orig: u64, new: u64 },
    /// No target matched (or the access size cannot be adjusted): the instruction
    /// is `call 0xbad2310`, as libbpf leaves it.
    Poisoned,
    /// libbpf would refuse the object; the instruction is poisoned.
    Failed(String),
}

/// The kind of an extern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExternKind {
    /// A kernel function called with `call` (BTF id left 0).
    Kfunc,
    /// A kernel variable whose address an `lddw` takes (BTF id left 0).
    Ksym,
    /// A `.kconfig` value, read from the kconfig map.
    Kconfig,
}

/// An extern the object declares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternSpec {
    pub name: String,
    pub kind: ExternKind,
    /// `__weak`.
    pub weak: bool,
    /// The matching `FUNC`/`VAR` in the target BTF, when one was given.
    pub target_btf_id: Option<u32>,
    /// Offset in the kconfig map (kconfig externs).
    pub kconfig_offset: Option<u32>,
}

/// An instruction that references an extern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternRef {
    pub insn: usize,
    pub name: String,
    pub kind: ExternKind,
}

/// A map definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapSpec {
    pub name: String,
    /// Kernel `enum bpf_map_type` number.
    pub map_type: u32,
    pub key_size: u32,
    pub value_size: u32,
    pub max_entries: u32,
    pub map_flags: u32,
    pub numa_node: u32,
    /// `LIBBPF_PIN_*` (0 none, 1 by name).
    pub pinning: u32,
    pub map_extra: u64,
    /// The inner map definition of a map-in-map.
    pub inner: Option<Box<MapSpec>>,
    /// Initial slots of prog arrays and map-in-maps (`__array(values, ...) = {...}`).
    pub init_slots: Vec<(u32, InitSlot)>,
    /// Initial contents of global data maps (zeros for `.bss`).
    pub initial_data: Option<Vec<u8>>,
    /// The ELF section of a global data map (`.data`, `.rodata.str1.1`, `.bss`).
    pub global_section: Option<String>,
    /// BTF types for decoding keys and values (a DATASEC for global data).
    pub key_type_id: Option<u32>,
    pub value_type_id: Option<u32>,
    /// Read-only for programs and frozen (`.rodata`, `.kconfig`).
    pub frozen: bool,
}

/// A program of the object that cannot be built, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnusableProgram {
    pub name: String,
    pub section: String,
    pub error: LoadError,
}

/// The initial value of a prog-array or map-in-map slot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InitSlot {
    /// Index into [`LoadedObject::maps`].
    Map(usize),
    /// A program, by name.
    Prog(String),
}

/// Why an object could not be loaded. Each variant names the section and says why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoadError {
    #[error(transparent)]
    Elf(#[from] ObjectError),
    #[error("section `{section}`: {source}")]
    Btf {
        section: String,
        #[source]
        source: BtfError,
    },
    #[error("section `{section}`, function `{function}`: {source}")]
    Decode {
        section: String,
        function: String,
        #[source]
        source: DecodeError,
    },
    #[error("section `{section}`: function `{function}` (offset {offset:#x}, size {size:#x}) {reason}")]
    BadFunction { section: String, function: String, offset: u64, size: u64, reason: String },
    #[error("relocation section `{rel_section}` entry {entry} (offset {offset:#x} in `{section}`, symbol `{symbol}`): {reason}")]
    BadRelocation { rel_section: String, entry: usize, section: String, offset: u64, symbol: String, reason: String },
    #[error("section `{section}`: map `{map}`: {reason}")]
    BadMap { section: String, map: String, reason: String },
    #[error("section `{section}`: map `{map}` has key_size 0, but a map of type {map_type} needs a key")]
    ZeroKeySize { section: String, map: String, map_type: u32 },
    #[error("section `{section}`: unknown map section layout: {reason}")]
    MapLayout { section: String, reason: String },
    #[error(
        "section `{section}`: {count} CO-RE relocations need a target BTF (/sys/kernel/btf/vmlinux or a BTF file)"
    )]
    NoTargetBtf { section: String, count: usize },
    #[error("section `{section}`, program `{program}`: {reason}")]
    Program { section: String, program: String, reason: String },
    #[error("section `{section}`: {reason}")]
    Section { section: String, reason: String },
}

/// Load a BPF object. Never panics; see [`LoadError`] for what it refuses.
pub fn load(bytes: &[u8], opts: &LoadOptions) -> Result<LoadedObject, LoadError> {
    let mut storage = Vec::new();
    let data = crate::aligned(bytes, &mut storage);
    let elf = Elf::parse(data)?;
    if elf.machine != E::EM_BPF {
        return Err(ObjectError::NotBpf { machine: elf.machine }.into());
    }
    Loader::new(&elf, opts)?.run()
}

/// libbpf's object name: the file name up to its first `.`.
fn object_name(opts: &LoadOptions) -> String {
    let Some(n) = opts.object_name.as_deref() else { return "obj".into() };
    let base = n.rsplit('/').next().unwrap_or(n);
    let base = base.split('.').next().unwrap_or(base);
    if base.is_empty() {
        "obj".into()
    } else {
        base.to_string()
    }
}

/// libbpf's `internal_map_name`: `<obj prefix><section>` within 15 characters.
pub fn internal_map_name(obj: &str, real: &str) -> String {
    let (o, r) = (obj.as_bytes(), real.as_bytes());
    let sfx_len = r.len().clamp(7, OBJ_NAME_LEN - 1);
    let pfx_len = if r.len() > 1 && r[1..].contains(&b'.') { 0 } else { (OBJ_NAME_LEN - sfx_len - 1).min(o.len()) };
    o[..pfx_len]
        .iter()
        .chain(&r[..sfx_len.min(r.len())])
        .map(|&b| if b.is_ascii_alphanumeric() || b == b'_' || b == b'.' { b as char } else { '_' })
        .collect()
}

/// Whether a map of this type needs a non-zero key.
fn needs_key(t: u32) -> bool {
    matches!(t, 1..=3 | 5..=21 | 24 | 25 | 28 | 29 | 32)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CodeRelo {
    /// `call` to `.text` (`sub_insn = sym_off / 8 + imm + 1`).
    Call { sym_off: u64 },
    /// `lddw` of a `.text` function (`sub_insn = (sym_off + imm) / 8`).
    SubprogAddr { sym_off: u64 },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DataRelo {
    Map(usize),
    Data { map: usize, off: u64 },
    Extern(usize),
}

/// One function of a code section.
#[derive(Debug, Clone)]
struct Func {
    sec: usize,
    name: String,
    /// First slot in the section.
    start: usize,
    insns: Vec<Insn>,
    code_relos: HashMap<usize, CodeRelo>,
    data_relos: Vec<(usize, DataRelo)>,
    externs: Vec<(usize, String, ExternKind)>,
    core: Vec<(usize, CoreReloReport)>,
    is_main: bool,
    /// Why the function's bytes could not be decoded. Its `insns` are then only
    /// placeholders (one per slot, so relocations still find their function); the
    /// programs that contain it are unusable, the others load (one function never
    /// sinks the whole object).
    broken: Option<DecodeError>,
}

impl Func {
    fn contains(&self, sec: usize, slot: usize) -> bool {
        self.sec == sec && slot >= self.start && slot < self.start + self.insns.len()
    }
}

/// Where a map comes from, for relocation matching.
#[derive(Debug, Clone)]
enum MapOrigin {
    Legacy { sec: usize, offset: u64 },
    Btf { sec: usize, offset: u64, size: u64, def_type: u32 },
    Data { sec: usize },
    Kconfig,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KcfgType {
    Bool,
    Tristate,
    Char,
    CharArr,
    Int { signed: bool },
}

#[derive(Debug, Clone)]
struct Extern {
    name: String,
    kind: ExternKind,
    weak: bool,
    target_btf_id: Option<u32>,
    kcfg: Option<(KcfgType, u32, u32)>, // (type, size, align)
    kcfg_off: Option<u32>,
}

struct Loader<'e, 'd> {
    elf: &'e Elf<'d>,
    opts: &'e LoadOptions,
    obj_name: String,
    btf: Option<Btf>,
    btf_ext: Option<BtfExt>,
    text: Option<usize>,
    funcs: Vec<Func>,
    maps: Vec<MapSpec>,
    origins: Vec<MapOrigin>,
    externs: Vec<Extern>,
    kconfig_map: Option<usize>,
    warnings: Vec<String>,
}

impl<'e, 'd> Loader<'e, 'd> {
    fn new(elf: &'e Elf<'d>, opts: &'e LoadOptions) -> Result<Loader<'e, 'd>, LoadError> {
        Ok(Loader {
            elf,
            opts,
            obj_name: object_name(opts),
            btf: None,
            btf_ext: None,
            text: elf.sections.iter().find(|s| s.name == ".text" && s.is_code()).map(|s| s.index),
            funcs: Vec::new(),
            maps: Vec::new(),
            origins: Vec::new(),
            externs: Vec::new(),
            kconfig_map: None,
            warnings: Vec::new(),
        })
    }

    fn sec_name(&self, idx: usize) -> &str {
        self.elf.sections.get(idx).map_or("?", |s| s.name.as_str())
    }

    fn run(mut self) -> Result<LoadedObject, LoadError> {
        let license = self
            .elf
            .section_by_name("license")
            .map(|s| {
                let end = s.data.iter().position(|&b| b == 0).unwrap_or(s.data.len());
                String::from_utf8_lossy(&s.data[..end]).into_owned()
            })
            .unwrap_or_default();
        let kern_version = match self.elf.section_by_name("version") {
            Some(s) if s.data.len() == 4 => Some(u32::from_le_bytes([s.data[0], s.data[1], s.data[2], s.data[3]])),
            Some(s) => {
                return Err(LoadError::Section {
                    section: s.name.clone(),
                    reason: format!("{} bytes, a kernel version is 4", s.data.len()),
                })
            }
            None => None,
        };
        self.read_btf()?;
        self.collect_funcs()?;
        self.legacy_maps()?;
        self.btf_maps()?;
        self.data_maps();
        self.collect_externs()?;
        self.code_relocations()?;
        self.apply_core()?;
        self.apply_data_relos();
        let (programs, unusable) = self.link()?;
        self.init_slots(&programs)?;
        let externs = self
            .externs
            .iter()
            .map(|x| ExternSpec {
                name: x.name.clone(),
                kind: x.kind,
                weak: x.weak,
                target_btf_id: x.target_btf_id,
                kconfig_offset: x.kcfg_off,
            })
            .collect();
        Ok(LoadedObject {
            programs,
            unusable,
            maps: self.maps,
            license,
            btf: self.btf.map(Arc::new),
            kern_version,
            externs,
            warnings: self.warnings,
        })
    }

    /// `.BTF` (with libbpf's DATASEC fix-ups) and `.BTF.ext`.
    fn read_btf(&mut self) -> Result<(), LoadError> {
        let Some(sec) = self.elf.section_by_name(".BTF") else { return Ok(()) };
        let needed = self.elf.section_by_name(".maps").is_some();
        let mut btf = match Btf::parse_raw(sec.data) {
            Ok(b) => b,
            Err(e) if needed => return Err(LoadError::Btf { section: ".BTF".into(), source: e }),
            Err(e) => {
                self.warnings.push(format!("section `.BTF` ignored: {e}"));
                return Ok(());
            }
        };
        self.fixup_datasecs(&mut btf);
        self.fixup_hidden_funcs(&mut btf);
        if let Some(ext) = self.elf.section_by_name(".BTF.ext") {
            match BtfExt::parse(ext.data, &btf) {
                Ok(x) => self.btf_ext = Some(x),
                Err(e) => {
                    let has_core = ext.data.len() >= 32 && crate::btf::le_u32(ext.data, 28).unwrap_or(0) > 0;
                    if has_core {
                        return Err(LoadError::Btf { section: ".BTF.ext".into(), source: e });
                    }
                    self.warnings.push(format!("section `.BTF.ext` ignored: {e}"));
                }
            }
        }
        self.btf = Some(btf);
        Ok(())
    }

    /// Clang leaves DATASEC sizes and variable offsets 0: take them from the ELF
    /// section and symbols, then sort variables by offset (libbpf's
    /// `btf_fixup_datasec`). Hidden globals become static.
    fn fixup_datasecs(&self, btf: &mut Btf) {
        let ids: Vec<u32> = btf.types().filter(|(_, t)| t.kind == Kind::Datasec).map(|(id, _)| id).collect();
        for id in ids {
            let Some(t) = btf.type_by_id(id) else { continue };
            let name = btf.name(t.name_off).to_string();
            if name == ".kconfig" || name == ".ksyms" {
                continue;
            }
            let fix_size = t.size() == 0;
            let size = if fix_size { self.elf.section_by_name(&name).map_or(0, |s| s.size) as u32 } else { t.size() };
            let mut vars = t.secinfos().to_vec();
            let mut hidden = Vec::new();
            for v in &mut vars {
                let Some(vt) = btf.type_by_id(v.type_id).filter(|vt| vt.kind == Kind::Var) else { continue };
                let vname = btf.name(vt.name_off);
                let sym = self.elf.symbols.iter().find(|s| {
                    s.name == vname && matches!(s.kind, E::STT_OBJECT | E::STT_NOTYPE) && s.section.is_some()
                });
                if let Some(sym) = sym {
                    if fix_size {
                        v.offset = sym.value as u32;
                    }
                    if matches!(sym.visibility, E::STV_HIDDEN | E::STV_INTERNAL) && vt.linkage() != VAR_STATIC {
                        hidden.push(v.type_id);
                    }
                }
            }
            vars.sort_by_key(|v| v.offset);
            if let Some(t) = btf.type_mut(id) {
                t.size_or_type = size;
                t.detail = crate::btf::Detail::Datasec(vars);
            }
            for vid in hidden {
                if let Some(vt) = btf.type_mut(vid) {
                    vt.detail = crate::btf::Detail::Var { linkage: VAR_STATIC };
                }
            }
        }
    }

    /// Global functions of hidden or internal visibility get static linkage, so the
    /// kernel verifies them with their callers' knowledge (libbpf's `mark_btf_static`).
    fn fixup_hidden_funcs(&self, btf: &mut Btf) {
        let ids: Vec<u32> =
            btf.types().filter(|(_, t)| t.kind == Kind::Func && t.linkage() == 1).map(|(id, _)| id).collect();
        for id in ids {
            let Some(name) = btf.type_by_id(id).map(|t| btf.name(t.name_off).to_string()) else { continue };
            let hidden = self.elf.symbols.iter().any(|s| {
                s.name == name && s.kind == E::STT_FUNC && matches!(s.visibility, E::STV_HIDDEN | E::STV_INTERNAL)
            });
            if let Some(t) = btf.type_mut(id).filter(|_| hidden) {
                t.vlen = 0;
            }
        }
    }

    /// Every function of every code section, decoded.
    fn collect_funcs(&mut self) -> Result<(), LoadError> {
        for sec in self.elf.sections.iter().filter(|s| s.is_code() && s.size > 0) {
            if sec.size % 8 != 0 {
                return Err(
                    ObjectError::BadSectionSize { index: sec.index, name: sec.name.clone(), size: sec.size }.into()
                );
            }
            let mut syms: Vec<&Symbol> =
                self.elf.symbols.iter().filter(|s| s.section == Some(sec.index) && s.kind == E::STT_FUNC).collect();
            syms.sort_by_key(|s| (s.value, s.index));
            let mut ranges: Vec<(String, u64, u64)> = Vec::new();
            for (i, s) in syms.iter().enumerate() {
                let mut size = s.size;
                if size == 0 {
                    // Hand-written assembly: up to the next function or the end.
                    let next = syms[i + 1..].iter().map(|n| n.value).find(|&v| v > s.value).unwrap_or(sec.size);
                    size = next.saturating_sub(s.value);
                }
                let bad = |reason: &str| LoadError::BadFunction {
                    section: sec.name.clone(),
                    function: s.name.clone(),
                    offset: s.value,
                    size,
                    reason: reason.into(),
                };
                if s.value % 8 != 0 || size % 8 != 0 {
                    return Err(bad("is not aligned to instructions"));
                }
                if s.value.checked_add(size).is_none_or(|end| end > sec.size) {
                    return Err(bad("crosses the end of its section"));
                }
                if size > 0 {
                    ranges.push((s.name.clone(), s.value, size));
                }
            }
            if syms.is_empty() {
                let name = self
                    .elf
                    .symbols
                    .iter()
                    .find(|s| {
                        s.section == Some(sec.index) && s.value == 0 && s.kind == E::STT_NOTYPE && !s.name.is_empty()
                    })
                    .map_or_else(|| sec.name.clone(), |s| s.name.clone());
                ranges.push((name, 0, sec.size));
            }
            for (name, off, size) in ranges {
                let bytes = &sec.data[off as usize..(off + size) as usize];
                let (insns, broken) = match decode_program(bytes) {
                    Ok(insns) => (insns, None),
                    Err(e) => (vec![Insn::Exit; bytes.len() / 8], Some(e)),
                };
                self.funcs.push(Func {
                    broken,
                    sec: sec.index,
                    name,
                    start: (off / 8) as usize,
                    insns,
                    code_relos: HashMap::new(),
                    data_relos: Vec::new(),
                    externs: Vec::new(),
                    core: Vec::new(),
                    is_main: Some(sec.index) != self.text,
                });
            }
        }
        if !self.funcs.iter().any(|f| f.is_main) {
            let globals: Vec<String> = self
                .elf
                .symbols
                .iter()
                .filter(|s| {
                    s.section == self.text && s.section.is_some() && s.kind == E::STT_FUNC && s.bind != E::STB_LOCAL
                })
                .map(|s| s.name.clone())
                .collect();
            for f in &mut self.funcs {
                f.is_main = globals.contains(&f.name) || (globals.is_empty() && f.start == 0);
            }
        }
        Ok(())
    }

    fn push_map(&mut self, m: MapSpec, origin: MapOrigin, section: &str) -> Result<(), LoadError> {
        check_key(&m, section)?;
        self.maps.push(m);
        self.origins.push(origin);
        Ok(())
    }

    /// Legacy `maps`: `struct bpf_map_def` per symbol, the size of each being the
    /// section size divided by the number of maps (libbpf 0.x).
    fn legacy_maps(&mut self) -> Result<(), LoadError> {
        let Some(sec) = self.elf.section_by_name("maps") else { return Ok(()) };
        let section = sec.name.clone();
        let layout = |reason: String| LoadError::MapLayout { section: section.clone(), reason };
        let syms: Vec<&Symbol> = self
            .elf
            .symbols
            .iter()
            .filter(|s| s.section == Some(sec.index) && s.kind != E::STT_SECTION && !s.name.is_empty())
            .collect();
        if syms.is_empty() {
            return Ok(());
        }
        let n = syms.len() as u64;
        if sec.size == 0 || sec.size % n != 0 || sec.data.len() as u64 != sec.size {
            return Err(layout(format!("cannot tell the definition size: {n} maps in {} bytes", sec.size)));
        }
        let def_sz = (sec.size / n) as usize;
        if def_sz < 16 {
            return Err(layout(format!(
                "{def_sz}-byte map definitions (at least type, key_size, value_size and max_entries: 16 bytes)"
            )));
        }
        for s in syms {
            let off = s.value as usize;
            let Some(def) = sec.data.get(off..off + def_sz) else {
                return Err(layout(format!("map `{}` at offset {off} is outside the section", s.name)));
            };
            let w = |i: usize| crate::btf::le_u32(def, i * 4).unwrap_or(0);
            let mut m = MapSpec::empty(&s.name);
            m.map_type = w(0);
            m.key_size = w(1);
            m.value_size = w(2);
            m.max_entries = w(3);
            m.map_flags = w(4);
            match def_sz {
                ..=20 => {}
                // samples/bpf's bpf_load.c: inner_map_idx, numa_node.
                24 | 28 => m.numa_node = w(6),
                // iproute2's struct bpf_elf_map: id, pinning, inner_id, inner_idx.
                36 => m.pinning = w(6),
                _ => {
                    if def[20..].iter().any(|&b| b != 0) {
                        return Err(layout(format!(
                            "map `{}`: {def_sz}-byte definition with unknown non-zero fields after struct bpf_map_def",
                            s.name
                        )));
                    }
                }
            }
            fill_defaults(&mut m);
            self.push_map(m, MapOrigin::Legacy { sec: sec.index, offset: s.value }, &section)?;
        }
        Ok(())
    }

    /// `.maps`: one BTF `VAR` per map, its struct describing the map.
    fn btf_maps(&mut self) -> Result<(), LoadError> {
        let Some(sec) = self.elf.section_by_name(".maps") else { return Ok(()) };
        let section = sec.name.clone();
        let Some(btf) = self.btf.as_ref() else {
            return Err(LoadError::MapLayout {
                section,
                reason: "BTF-defined maps need the object's .BTF section".into(),
            });
        };
        let Some(ds) = btf.datasec(".maps").and_then(|id| btf.type_by_id(id)) else {
            return Err(LoadError::MapLayout { section, reason: "no DATASEC `.maps` in the object's BTF".into() });
        };
        let mut out = Vec::new();
        for v in ds.secinfos() {
            let Some(var) = btf.type_by_id(v.type_id).filter(|t| t.kind == Kind::Var) else {
                return Err(LoadError::MapLayout {
                    section,
                    reason: format!("DATASEC member [{}] is not a VAR", v.type_id),
                });
            };
            let name = btf.name(var.name_off).to_string();
            let bad = |reason: String| LoadError::BadMap { section: section.clone(), map: name.clone(), reason };
            if var.linkage() != VAR_GLOBAL_ALLOCATED && var.linkage() != VAR_STATIC {
                return Err(bad(format!("unsupported map linkage {}", var.linkage())));
            }
            if (v.offset as u64).saturating_add(v.size as u64) > sec.size {
                return Err(bad(format!("definition at {:#x}+{:#x} is outside the section", v.offset, v.size)));
            }
            let Some((def_id, def)) = btf.skip_mods_and_typedefs(var.type_id()) else {
                return Err(bad("bad definition type".into()));
            };
            if def.kind != Kind::Struct {
                return Err(bad(format!("definition is a {}, not a struct", def.kind.name())));
            }
            let m = parse_btf_map_def(btf, &name, def_id, false).map_err(bad)?;
            out.push((
                m,
                MapOrigin::Btf { sec: sec.index, offset: v.offset as u64, size: v.size as u64, def_type: def_id },
            ));
        }
        for (m, o) in out {
            if let Some(inner) = &m.inner {
                check_key(inner, &section)?;
            }
            self.push_map(m, o, &section)?;
        }
        Ok(())
    }

    /// Global data sections as one-element array maps.
    fn data_maps(&mut self) {
        let mut new = Vec::new();
        for sec in &self.elf.sections {
            let n = sec.name.as_str();
            if n.trim_start_matches('?').starts_with(".struct_ops") {
                self.warnings.push(format!("section `{n}`: struct_ops maps are not supported (skipped)"));
                continue;
            }
            let rodata = n == ".rodata" || n.starts_with(".rodata.");
            let data = n == ".data" || n.starts_with(".data.");
            let bss = n == ".bss" || n.starts_with(".bss.");
            let ok = if bss {
                sec.sh_type == E::SHT_NOBITS
            } else {
                sec.sh_type == E::SHT_PROGBITS && !sec.is_code() && (rodata || data)
            };
            if !ok || sec.size == 0 {
                if (rodata || data || bss) && sec.size > 0 {
                    self.warnings.push(format!("section `{n}` skipped (unexpected section type)"));
                }
                continue;
            }
            let value_type_id = self.btf.as_ref().and_then(|b| b.datasec(n));
            let mmapable =
                value_type_id.and_then(|id| self.btf.as_ref().and_then(|b| b.type_by_id(id))).is_some_and(|t| {
                    t.secinfos().iter().any(|v| {
                        self.btf
                            .as_ref()
                            .and_then(|b| b.type_by_id(v.type_id))
                            .is_some_and(|vt| vt.kind == Kind::Var && vt.linkage() != VAR_STATIC)
                    })
                });
            let mut m = MapSpec::empty(&internal_map_name(&self.obj_name, n));
            m.map_type = map_type::ARRAY;
            m.key_size = 4;
            m.value_size = sec.size.min(u32::MAX as u64) as u32;
            m.max_entries = 1;
            m.map_flags = if rodata { BPF_F_RDONLY_PROG } else { 0 } | if mmapable { BPF_F_MMAPABLE } else { 0 };
            m.initial_data = Some(if bss { vec![0; m.value_size as usize] } else { sec.data.to_vec() });
            m.global_section = Some(n.to_string());
            m.value_type_id = value_type_id;
            m.frozen = rodata;
            new.push((m, MapOrigin::Data { sec: sec.index }));
        }
        for (m, o) in new {
            self.maps.push(m);
            self.origins.push(o);
        }
    }

    /// Externs: kfuncs, ksyms, and `.kconfig` values (which get a map).
    fn collect_externs(&mut self) -> Result<(), LoadError> {
        let mut seen = Vec::new();
        for s in self.elf.symbols.iter().filter(|s| s.is_extern()) {
            if seen.contains(&s.name) {
                continue;
            }
            seen.push(s.name.clone());
            let mut x = Extern {
                name: s.name.clone(),
                kind: ExternKind::Ksym,
                weak: s.bind == E::STB_WEAK,
                target_btf_id: None,
                kcfg: None,
                kcfg_off: None,
            };
            let in_sec = self.btf.as_ref().and_then(|b| extern_btf(b, &s.name).map(|r| (b, r)));
            match in_sec {
                Some((btf, (sec, type_id, is_func))) => {
                    if sec == ".kconfig" {
                        x.kind = ExternKind::Kconfig;
                        x.kcfg = Some(kcfg_type(btf, type_id).map_err(|reason| LoadError::Section {
                            section: ".kconfig".into(),
                            reason: format!("extern `{}`: {reason}", s.name),
                        })?);
                    } else {
                        x.kind = if is_func { ExternKind::Kfunc } else { ExternKind::Ksym };
                    }
                }
                None => {
                    if s.kind == E::STT_FUNC {
                        x.kind = ExternKind::Kfunc;
                    } else if s.name.starts_with("CONFIG_") || s.name.starts_with("LINUX_") {
                        x.kind = ExternKind::Kconfig;
                        x.kcfg = Some((KcfgType::Int { signed: false }, 8, 8));
                    }
                }
            }
            if let Some(t) = &self.opts.target_btf {
                x.target_btf_id = match x.kind {
                    ExternKind::Kfunc => t.find_by_name_kind(&x.name, Kind::Func),
                    ExternKind::Ksym => t.find_by_name_kind(&x.name, Kind::Var),
                    ExternKind::Kconfig => None,
                };
            }
            self.externs.push(x);
        }
        // The kconfig map: externs sorted by alignment (descending), size, name.
        let mut order: Vec<usize> = (0..self.externs.len()).filter(|&i| self.externs[i].kcfg.is_some()).collect();
        if order.is_empty() {
            return Ok(());
        }
        order.sort_by(|&a, &b| {
            let (xa, xb) = (&self.externs[a], &self.externs[b]);
            let (ka, kb) = (xa.kcfg.unwrap_or((KcfgType::Bool, 0, 1)), xb.kcfg.unwrap_or((KcfgType::Bool, 0, 1)));
            kb.2.cmp(&ka.2).then(ka.1.cmp(&kb.1)).then(xa.name.cmp(&xb.name))
        });
        let mut off: u32 = 0;
        let mut data = Vec::new();
        for i in order {
            let Some((ty, size, align)) = self.externs[i].kcfg else { continue };
            let align = align.max(1);
            off = off.div_ceil(align) * align;
            self.externs[i].kcfg_off = Some(off);
            let v = kcfg_value(&self.externs[i].name, ty, size, self.opts);
            data.resize(off as usize, 0);
            data.extend_from_slice(&v);
            off += size;
        }
        data.resize(off as usize, 0);
        // As libbpf does, lay the `.kconfig` DATASEC out like the map.
        if let Some(btf) = self.btf.as_mut() {
            if let Some(id) = btf.datasec(".kconfig") {
                let mut vars = btf.type_by_id(id).map(|t| t.secinfos().to_vec()).unwrap_or_default();
                for v in &mut vars {
                    let vname = btf.type_name(v.type_id);
                    if let Some(x) = self.externs.iter().find(|x| x.name == vname) {
                        v.offset = x.kcfg_off.unwrap_or(0);
                        v.size = x.kcfg.map_or(0, |k| k.1);
                    }
                }
                vars.sort_by_key(|v| v.offset);
                if let Some(t) = btf.type_mut(id) {
                    t.size_or_type = off;
                    t.detail = crate::btf::Detail::Datasec(vars);
                }
            }
        }
        let mut m = MapSpec::empty(&internal_map_name(&self.obj_name, ".kconfig"));
        m.map_type = map_type::ARRAY;
        m.key_size = 4;
        m.value_size = off;
        m.max_entries = 1;
        m.map_flags = BPF_F_RDONLY_PROG | BPF_F_MMAPABLE;
        m.initial_data = Some(data);
        m.global_section = Some(".kconfig".into());
        m.value_type_id = self.btf.as_ref().and_then(|b| b.datasec(".kconfig"));
        m.frozen = true;
        self.kconfig_map = Some(self.maps.len());
        self.maps.push(m);
        self.origins.push(MapOrigin::Kconfig);
        Ok(())
    }

    fn find_func(&self, sec: usize, slot: usize) -> Option<usize> {
        self.funcs.iter().position(|f| f.contains(sec, slot))
    }

    /// Classify every relocation of every code section (libbpf's
    /// `bpf_program__record_reloc`).
    fn code_relocations(&mut self) -> Result<(), LoadError> {
        let elf = self.elf;
        for rs in &elf.rels {
            let Some(sec) = elf.sections.get(rs.target).filter(|s| s.is_code()) else { continue };
            for (entry, r) in rs.entries.iter().enumerate() {
                if r.r_type == 0 {
                    continue; // R_BPF_NONE
                }
                let sym = elf.symbols.get(r.sym as usize);
                let bad = |reason: String| LoadError::BadRelocation {
                    rel_section: rs.name.clone(),
                    entry,
                    section: sec.name.clone(),
                    offset: r.offset,
                    symbol: sym.map_or_else(|| format!("#{}", r.sym), |s| s.name.clone()),
                    reason,
                };
                let Some(sym) = sym else {
                    return Err(bad(format!("symbol index {} is out of range ({} symbols)", r.sym, elf.symbols.len())));
                };
                if r.offset % 8 != 0 {
                    return Err(bad("relocation into the middle of an instruction".into()));
                }
                if r.offset.checked_add(8).is_none_or(|e| e > sec.size) {
                    return Err(bad(format!("offset is outside the section ({} bytes)", sec.size)));
                }
                let slot = (r.offset / 8) as usize;
                let Some(fi) = self.find_func(sec.index, slot) else {
                    self.warnings.push(format!(
                        "relocation at {:#x} in `{}` against `{}` is in no function: skipped",
                        r.offset, sec.name, sym.name
                    ));
                    continue;
                };
                if self.funcs[fi].broken.is_some() {
                    continue; // the function's programs are unusable anyway
                }
                let local = slot - self.funcs[fi].start;
                let insn = self.funcs[fi].insns[local];
                if insn == Insn::LoadImm64Tail {
                    return Err(
                        bad("relocation into the middle of an instruction (the second slot of an lddw)".into()),
                    );
                }
                if sym.is_extern() {
                    let Some(xi) = self.externs.iter().position(|x| x.name == sym.name) else {
                        return Err(bad("extern symbol without a declaration".into()));
                    };
                    match insn {
                        Insn::Call(_) => {
                            self.funcs[fi].data_relos.push((local, DataRelo::Extern(xi)));
                        }
                        Insn::LoadImm64 { .. } => {
                            self.funcs[fi].data_relos.push((local, DataRelo::Extern(xi)));
                        }
                        other => {
                            return Err(bad(format!(
                                "relocation on `{}`, which is neither lddw nor call",
                                describe(&other)
                            )))
                        }
                    }
                    continue;
                }
                if let Insn::Call(t) = insn {
                    if !matches!(t, CallTarget::Local(_)) {
                        return Err(bad(format!(
                            "relocation on `{}`, which is not a bpf-to-bpf call",
                            describe(&insn)
                        )));
                    }
                    if sym.section.is_none() || sym.section != self.text {
                        return Err(bad(format!(
                            "call into section `{}`: sub-programs must be in .text",
                            sym.section.map_or("(none)", |s| self.sec_name(s))
                        )));
                    }
                    if sym.value % 8 != 0 {
                        return Err(bad(format!("call target offset {:#x} is not an instruction boundary", sym.value)));
                    }
                    self.funcs[fi].code_relos.insert(local, CodeRelo::Call { sym_off: sym.value });
                    continue;
                }
                let Insn::LoadImm64 { imm, .. } = insn else {
                    return Err(bad(format!("relocation on `{}`, which is neither lddw nor call", describe(&insn))));
                };
                let low_imm = match imm {
                    Imm64::Value(v) => v as u32 as i32 as i64,
                    _ => 0,
                };
                let Some(ssec) = sym.section else {
                    return Err(bad("symbol is not defined in any section".into()));
                };
                if Some(ssec) == self.text
                    && ((sym.bind == E::STB_LOCAL && sym.kind == E::STT_SECTION)
                        || (sym.bind == E::STB_GLOBAL && sym.kind == E::STT_FUNC))
                {
                    if sym.value % 8 != 0 || low_imm % 8 != 0 {
                        return Err(bad(format!(
                            "function address {:#x}+{low_imm} is not an instruction boundary",
                            sym.value
                        )));
                    }
                    self.funcs[fi].code_relos.insert(local, CodeRelo::SubprogAddr { sym_off: sym.value });
                    continue;
                }
                let name = self.sec_name(ssec).to_string();
                if name == "maps" || name == ".maps" {
                    let m = self.origins.iter().position(|o| match *o {
                        MapOrigin::Legacy { sec, offset } | MapOrigin::Btf { sec, offset, .. } => {
                            sec == ssec && offset == sym.value
                        }
                        _ => false,
                    });
                    let Some(m) = m else {
                        return Err(bad(format!("no map at offset {:#x} of section `{name}`", sym.value)));
                    };
                    self.funcs[fi].data_relos.push((local, DataRelo::Map(m)));
                    continue;
                }
                let m = self.origins.iter().position(|o| matches!(*o, MapOrigin::Data { sec } if sec == ssec));
                let Some(m) = m else {
                    return Err(bad(format!(
                        "symbol in section `{name}`, which is not a map, global data or .text section"
                    )));
                };
                self.funcs[fi].data_relos.push((local, DataRelo::Data { map: m, off: sym.value }));
            }
        }
        Ok(())
    }

    /// CO-RE relocations from `.BTF.ext`, applied per function.
    fn apply_core(&mut self) -> Result<(), LoadError> {
        let (Some(btf), Some(ext)) = (self.btf.as_ref(), self.btf_ext.as_ref()) else { return Ok(()) };
        let mut work: Vec<(usize, usize, CoreRelo)> = Vec::new();
        for s in &ext.core_relos {
            let Some(sec) = self.elf.sections.iter().find(|x| x.name == s.sec_name && x.is_code()) else {
                self.warnings.push(format!("CO-RE relocations for unknown section `{}` skipped", s.sec_name));
                continue;
            };
            let needs_target = s.records.iter().filter(|r| r.kind != CoreReloKind::TypeIdLocal as u32).count();
            if needs_target > 0 && self.opts.target_btf.is_none() {
                return Err(LoadError::NoTargetBtf { section: s.sec_name.clone(), count: needs_target });
            }
            for r in &s.records {
                let slot = (r.insn_off / 8) as usize;
                match self.find_func(sec.index, slot) {
                    Some(fi) if self.funcs[fi].broken.is_some() => {}
                    Some(fi) if r.insn_off % 8 == 0 => work.push((fi, slot - self.funcs[fi].start, *r)),
                    _ => self.warnings.push(format!(
                        "CO-RE relocation at {:#x} in `{}` is in no function: skipped",
                        r.insn_off, s.sec_name
                    )),
                }
            }
        }
        if work.is_empty() {
            return Ok(());
        }
        let empty = Btf::parse_raw(&EMPTY_BTF).map_err(|e| LoadError::Btf { section: ".BTF".into(), source: e })?;
        let target: &Btf = self.opts.target_btf.as_deref().unwrap_or(&empty);
        let mut relocator = Relocator::new(btf, target);
        for (fi, local, r) in work {
            let kind = CoreReloKind::from_u32(r.kind);
            let func = &mut self.funcs[fi];
            let (outcome, local_desc, target_desc) = match relocator.resolve(&r) {
                Ok(res) => match core::patch(&mut func.insns, local, &res.res) {
                    Ok(false) => {
                        (CoreOutcome::Patched { orig: res.res.orig_val, new: res.res.new_val }, res.local, res.target)
                    }
                    Ok(true) => (CoreOutcome::Poisoned, res.local, res.target),
                    Err(e) => {
                        core::poison(&mut func.insns, local);
                        (CoreOutcome::Failed(e.to_string()), res.local, res.target)
                    }
                },
                Err(e) => {
                    core::poison(&mut func.insns, local);
                    (CoreOutcome::Failed(e.to_string()), relocator.describe(&r), None)
                }
            };
            func.core.push((
                local,
                CoreReloReport {
                    insn: local,
                    kind: kind.unwrap_or(CoreReloKind::FieldByteOffset),
                    local: local_desc,
                    target: target_desc,
                    outcome,
                },
            ));
        }
        Ok(())
    }

    /// Map, global data and extern references.
    fn apply_data_relos(&mut self) {
        let kconfig_map = self.kconfig_map;
        for f in &mut self.funcs {
            let relos = std::mem::take(&mut f.data_relos);
            for (local, r) in relos {
                let Some(insn) = f.insns.get_mut(local) else { continue };
                match (r, &mut *insn) {
                    (DataRelo::Map(m), Insn::LoadImm64 { imm, .. }) => *imm = Imm64::MapIdx(m as i32),
                    (DataRelo::Data { map, off }, Insn::LoadImm64 { imm, .. }) => {
                        let addend = match *imm {
                            Imm64::Value(v) => v as u32 as i32 as i64,
                            _ => 0,
                        };
                        *imm = Imm64::MapIdxValue { idx: map as i32, off: (addend + off as i64) as u32 };
                    }
                    (DataRelo::Extern(xi), insn) => {
                        let Some(x) = self.externs.get(xi) else { continue };
                        let kind = match (x.kind, &mut *insn) {
                            (ExternKind::Kconfig, Insn::LoadImm64 { imm, .. }) => {
                                if let (Some(m), Some(off)) = (kconfig_map, x.kcfg_off) {
                                    *imm = Imm64::MapIdxValue { idx: m as i32, off };
                                }
                                ExternKind::Kconfig
                            }
                            (_, Insn::LoadImm64 { imm, .. }) => {
                                *imm = Imm64::BtfId { id: 0, btf_fd: 0 };
                                ExternKind::Ksym
                            }
                            (_, Insn::Call(t)) => {
                                *t = CallTarget::Kfunc { btf_id: 0, off: 0 };
                                ExternKind::Kfunc
                            }
                            _ => continue,
                        };
                        f.externs.push((local, x.name.clone(), kind));
                    }
                    _ => {}
                }
            }
        }
    }

    /// Build each entry-point program: the function, then the sub-programs it
    /// reaches, depth first in call order; call offsets and function addresses
    /// fixed; func/line info and reports re-based.
    fn link(&self) -> Result<(Vec<ProgramSpec>, Vec<UnusableProgram>), LoadError> {
        let mut out = Vec::new();
        let mut mains: Vec<usize> = (0..self.funcs.len()).filter(|&i| self.funcs[i].is_main).collect();
        mains.sort_by_key(|&i| (self.funcs[i].sec, self.funcs[i].start));
        let mut unusable = Vec::new();
        for main in mains {
            match self.link_one(main) {
                Ok(p) => out.push(p),
                Err(error) => {
                    let f = &self.funcs[main];
                    unusable.push(UnusableProgram {
                        name: f.name.clone(),
                        section: self.sec_name(f.sec).to_string(),
                        error,
                    })
                }
            }
        }
        Ok((out, unusable))
    }

    fn link_one(&self, main: usize) -> Result<ProgramSpec, LoadError> {
        let f = &self.funcs[main];
        let section = self.sec_name(f.sec).to_string();
        let err = |reason: String| LoadError::Program { section: section.clone(), program: f.name.clone(), reason };
        let undecodable = |fi: usize| -> Result<(), LoadError> {
            let g = &self.funcs[fi];
            match &g.broken {
                Some(e) => Err(LoadError::Decode {
                    section: self.sec_name(g.sec).to_string(),
                    function: g.name.clone(),
                    source: e.clone(),
                }),
                None => Ok(()),
            }
        };
        undecodable(main)?;
        let mut insns = f.insns.clone();
        let mut placed: Vec<(usize, usize)> = vec![(main, 0)];
        // (function, base, next instruction to look at)
        let mut stack: Vec<(usize, usize, usize)> = vec![(main, 0, 0)];
        while let Some(top) = stack.last_mut() {
            let (fi, base, cursor) = *top;
            let func = &self.funcs[fi];
            let Some(local) =
                (cursor..func.insns.len()).find(|&i| is_code_site(&func.insns[i], func.code_relos.get(&i)))
            else {
                stack.pop();
                continue;
            };
            top.2 = local + 1;
            let insn = func.insns[local];
            let (tsec, tslot, relocated) = match (func.code_relos.get(&local), insn) {
                (Some(CodeRelo::Call { sym_off }), Insn::Call(CallTarget::Local(imm))) => {
                    let Some(text) = self.text else { return Err(err("call into .text, which does not exist".into())) };
                    (text, *sym_off as i64 / 8 + imm as i64 + 1, true)
                }
                (Some(CodeRelo::SubprogAddr { sym_off }), Insn::LoadImm64 { imm, .. }) => {
                    let Some(text) = self.text else {
                        return Err(err("address of .text, which does not exist".into()));
                    };
                    let low = match imm {
                        Imm64::Value(v) => v as u32 as i32 as i64,
                        _ => 0,
                    };
                    (text, (*sym_off as i64 + low) / 8, true)
                }
                (None, Insn::Call(CallTarget::Local(rel))) | (None, Insn::LoadImm64 { imm: Imm64::Func(rel), .. }) => {
                    (func.sec, (func.start + local) as i64 + rel as i64 + 1, false)
                }
                _ => continue,
            };
            let Some(tf) = usize::try_from(tslot).ok().and_then(|s| self.find_func(tsec, s)) else {
                return Err(err(format!(
                    "call from `{}` (instruction {local}) to instruction {tslot} of `{}`, which is in no function",
                    func.name,
                    self.sec_name(tsec)
                )));
            };
            if tf == fi && !relocated {
                continue; // a jump within the function itself
            }
            let tbase = match placed.iter().find(|(p, _)| *p == tf) {
                Some(&(_, b)) => b,
                None => {
                    undecodable(tf)?;
                    let b = insns.len();
                    insns.extend_from_slice(&self.funcs[tf].insns);
                    placed.push((tf, b));
                    stack.push((tf, b, 0));
                    b
                }
            };
            let target = tbase as i64 + (tslot - self.funcs[tf].start as i64);
            let pc = (base + local) as i64;
            let rel = i32::try_from(target - pc - 1).map_err(|_| err("call offset does not fit 32 bits".into()))?;
            match &mut insns[base + local] {
                Insn::Call(t) => *t = CallTarget::Local(rel),
                Insn::LoadImm64 { imm, .. } => *imm = Imm64::Func(rel),
                _ => {}
            }
        }

        let def = prog_types::from_section(&section);
        let over = self.opts.prog_types.iter().find(|(n, _)| *n == f.name || *n == section).map(|(_, t)| *t);
        let prog_type = over.or(def.as_ref().map(|d| d.prog_type));
        let keep_def = def.as_ref().filter(|d| Some(d.prog_type) == prog_type);
        let mut spec = ProgramSpec {
            name: f.name.clone(),
            section: section.clone(),
            prog_type,
            expected_attach_type: keep_def.and_then(|d| d.expected_attach_type),
            attach_target: keep_def.and_then(|d| d.attach_target.clone()),
            sleepable: keep_def.is_some_and(|d| d.sleepable),
            insns,
            func_info: Vec::new(),
            line_info: Vec::new(),
            core_relos: Vec::new(),
            externs: Vec::new(),
        };
        let mut order = placed.clone();
        order.sort_by_key(|&(_, b)| b);
        for (fi, base) in order {
            let func = &self.funcs[fi];
            self.ext_info(func, base, &mut spec);
            for (local, r) in &func.core {
                let mut r = r.clone();
                r.insn = base + local;
                spec.core_relos.push(r);
            }
            for (local, name, kind) in &func.externs {
                spec.externs.push(ExternRef { insn: base + local, name: name.clone(), kind: *kind });
            }
        }
        Ok(spec)
    }

    /// Func and line info records of `func`, re-based to `base`.
    fn ext_info(&self, func: &Func, base: usize, spec: &mut ProgramSpec) {
        let (Some(btf), Some(ext)) = (self.btf.as_ref(), self.btf_ext.as_ref()) else { return };
        let sec_name = self.sec_name(func.sec);
        let range = func.start..func.start + func.insns.len();
        for s in ext.func_info.iter().filter(|s| s.sec_name == sec_name) {
            for r in &s.records {
                let slot = (r.insn_off / 8) as usize;
                if range.contains(&slot) {
                    spec.func_info.push(FuncInfo {
                        insn_off: slot - func.start + base,
                        type_id: r.type_id,
                        name: btf.type_name(r.type_id).to_string(),
                    });
                }
            }
        }
        for s in ext.line_info.iter().filter(|s| s.sec_name == sec_name) {
            for r in &s.records {
                let slot = (r.insn_off / 8) as usize;
                if range.contains(&slot) {
                    spec.line_info.push(LineInfo {
                        insn_off: slot - func.start + base,
                        file: btf.name(r.file_name_off).to_string(),
                        line: r.line,
                        col: r.col,
                        text: btf.name(r.line_off).to_string(),
                    });
                }
            }
        }
    }

    /// `.rel.maps`: initial slots of prog arrays and map-in-maps.
    fn init_slots(&mut self, programs: &[ProgramSpec]) -> Result<(), LoadError> {
        let elf = self.elf;
        let Some(maps_sec) = elf.section_by_name(".maps") else { return Ok(()) };
        for rs in elf.rels.iter().filter(|r| r.target == maps_sec.index) {
            for (entry, r) in rs.entries.iter().enumerate() {
                let sym = elf.symbols.get(r.sym as usize);
                let bad = |reason: String| LoadError::BadRelocation {
                    rel_section: rs.name.clone(),
                    entry,
                    section: ".maps".into(),
                    offset: r.offset,
                    symbol: sym.map_or_else(|| format!("#{}", r.sym), |s| s.name.clone()),
                    reason,
                };
                let Some(sym) = sym else {
                    return Err(bad(format!("symbol index {} is out of range ({} symbols)", r.sym, elf.symbols.len())));
                };
                let found = self.origins.iter().enumerate().find_map(|(i, o)| match *o {
                    MapOrigin::Btf { offset, size, def_type, .. }
                        if offset <= r.offset && r.offset.saturating_add(8) <= offset + size =>
                    {
                        Some((i, offset, def_type))
                    }
                    _ => None,
                });
                let Some((mi, var_off, def_type)) = found else {
                    return Err(bad("no map definition at this offset".into()));
                };
                let btf = self.btf.as_ref().ok_or_else(|| bad("no BTF".into()))?;
                let def = btf.type_by_id(def_type).ok_or_else(|| bad("bad map definition type".into()))?;
                let last = def.members().last().ok_or_else(|| bad("empty map definition".into()))?;
                if btf.name(last.name_off) != "values" {
                    return Err(bad("the map definition's last member is not `values`".into()));
                }
                let moff = last.bit_offset as u64 / 8;
                if r.offset - var_off < moff {
                    return Err(bad("relocation before the `values` member".into()));
                }
                let slot = ((r.offset - var_off - moff) / 8) as u32;
                let map = &self.maps[mi];
                let init = match map.map_type {
                    map_type::ARRAY_OF_MAPS | map_type::HASH_OF_MAPS => {
                        if sym.section != Some(maps_sec.index) {
                            return Err(bad(format!("`{}` is not a BTF-defined map", sym.name)));
                        }
                        if map.map_type == map_type::HASH_OF_MAPS && map.key_size != 4 {
                            return Err(bad(format!("hash-of-maps `{}` must have a 4-byte key", map.name)));
                        }
                        let t = self
                            .maps
                            .iter()
                            .position(|m| m.name == sym.name)
                            .ok_or_else(|| bad(format!("`{}` is not a map", sym.name)))?;
                        InitSlot::Map(t)
                    }
                    map_type::PROG_ARRAY => {
                        if !programs.iter().any(|p| p.name == sym.name) {
                            return Err(bad(format!("`{}` is not an entry-point program", sym.name)));
                        }
                        InitSlot::Prog(sym.name.clone())
                    }
                    t => return Err(bad(format!("map `{}` of type {t} cannot have initial values", map.name))),
                };
                let m = &mut self.maps[mi];
                m.init_slots.retain(|(s, _)| *s != slot);
                m.init_slots.push((slot, init));
                m.init_slots.sort_by_key(|(s, _)| *s);
            }
        }
        Ok(())
    }
}

/// Whether `insn` needs code relocation: a bpf-to-bpf call, a function address, or
/// an `lddw` with a function-address relocation.
fn is_code_site(insn: &Insn, relo: Option<&CodeRelo>) -> bool {
    matches!(insn, Insn::Call(CallTarget::Local(_)) | Insn::LoadImm64 { imm: Imm64::Func(_), .. })
        || matches!(relo, Some(CodeRelo::SubprogAddr { .. }))
}

/// An instruction in llvm-objdump syntax, for error messages.
fn describe(insn: &Insn) -> String {
    bpfbox_isa::llvm::disasm(std::slice::from_ref(insn)).trim().to_string()
}

/// A valid empty BTF blob (header only), the target when none is needed.
const EMPTY_BTF: [u8; 25] = [0x9f, 0xeb, 1, 0, 24, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn libbpf_internal_map_names() {
        assert_eq!(internal_map_name("biolatency", ".rodata"), "biolaten.rodata");
        assert_eq!(internal_map_name("biolatency", ".bss"), "biolaten.bss");
        assert_eq!(internal_map_name("my_object_name", ".kconfig"), "my_obje.kconfig");
        assert_eq!(internal_map_name("x", ".data"), "x.data");
        assert_eq!(internal_map_name("obj", ".rodata.str1.1"), ".rodata.str1.1");
        assert_eq!(internal_map_name("obj", ".rodata.abracadabra"), ".rodata.abracad");
        assert_eq!(internal_map_name("a-b", ".data"), "a_b.data");
    }

    #[test]
    fn object_names() {
        let o = |n: &str| LoadOptions { object_name: Some(n.into()), ..Default::default() };
        assert_eq!(object_name(&o("execsnoop.bpf.o")), "execsnoop");
        assert_eq!(object_name(&o("/a/b/x.o")), "x");
        assert_eq!(object_name(&LoadOptions::default()), "obj");
    }

    #[test]
    fn empty_btf_parses() {
        assert!(Btf::parse_raw(&EMPTY_BTF).is_ok_and(|b| b.is_empty()));
    }

    #[test]
    fn c_ints() {
        assert_eq!(parse_c_int("250"), Some(250));
        assert_eq!(parse_c_int("0x10"), Some(16));
        assert_eq!(parse_c_int("010"), Some(8));
        assert_eq!(parse_c_int("-1"), Some(u64::MAX));
        assert_eq!(parse_c_int("x"), None);
    }
}
