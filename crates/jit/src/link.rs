//! Laying out compiled functions, linking their calls to one another, and placing
//! them in executable memory.
//!
//! An [`Image`] is the machine code of a program's functions, one after another, with
//! the places where one calls another still to be patched: the only relocations the
//! translator produces (helpers and runtime shims are called through absolute
//! addresses in registers). [`Image::link`] patches them for a given load address,
//! which is how the same image serves the host ([`ExecCode`]) and a foreign target
//! (the `cross` module writes it into an executable file).

use crate::JitError;
use cranelift_codegen::binemit::Reloc;
use cranelift_codegen::entity::PrimaryMap;
use cranelift_codegen::ir::{ExternalName, UserExternalName, UserExternalNameRef};
use cranelift_codegen::{CompiledCode, FinalizedRelocTarget};
use cranelift_jit::{BranchProtection, JITMemoryKind, JITMemoryProvider, SystemMemoryProvider};

/// Functions start at multiples of this (a cache line: a loop near the start of a
/// function then lands where Cranelift put it relative to the line).
const FUNC_ALIGN: usize = 64;

/// A call site to patch: at byte `at`, a `kind` reference to function `func`.
#[derive(Debug, Clone, Copy)]
struct Fixup {
    at: usize,
    kind: Reloc,
    func: usize,
    addend: i64,
}

/// The code of a program's functions, laid out.
#[derive(Debug, Default)]
pub(crate) struct Image {
    pub bytes: Vec<u8>,
    /// Offset of each function, by function index.
    starts: Vec<usize>,
    fixups: Vec<Fixup>,
    /// The most deeply nested loops of each function, as image byte ranges.
    pub hot_loops: Vec<(usize, usize)>,
    /// Big-endian reads made byte by byte that the translator folded into one load.
    pub folded_reads: usize,
}

impl Image {
    /// Append function number `self.len()`. `names` are the function's imported
    /// names (a local call imports `UserExternalName { namespace: 0, index: callee }`).
    /// `loops`: the function's innermost loops as (header slot, latch slot).
    pub fn push(
        &mut self,
        code: &CompiledCode,
        names: &PrimaryMap<UserExternalNameRef, UserExternalName>,
        loops: &[(usize, usize)],
    ) -> Result<(), JitError> {
        let align = FUNC_ALIGN.max(code.buffer.alignment as usize);
        let loops = loop_ranges(code, loops);
        // BPFBOX_JIT_PAD=n places every function n bytes after a line instead
        // (`examples/pad_sweep.rs` measures the effect of placement with it).
        let pad = match std::env::var("BPFBOX_JIT_PAD").ok().and_then(|v| v.parse::<usize>().ok()) {
            Some(p) => p.next_multiple_of(code.buffer.alignment.max(1) as usize),
            None => loop_friendly_pad(&loops, code.buffer.alignment as usize, align),
        };
        let start = self.bytes.len().next_multiple_of(align) + pad;
        if std::env::var_os("BPFBOX_JIT_DUMP").is_some() {
            eprintln!("; placed {pad} bytes into a line; innermost loops at {loops:#x?}");
        }
        self.hot_loops.extend(loops.iter().map(|&(lo, hi)| (start + lo as usize, start + hi as usize)));
        self.bytes.resize(start, 0);
        self.bytes.extend_from_slice(code.code_buffer());
        let nth = self.starts.len();
        self.starts.push(start);
        for r in code.buffer.relocs() {
            let func = match &r.target {
                FinalizedRelocTarget::ExternalName(ExternalName::User(n)) => names[*n].index as usize,
                other => {
                    return Err(JitError::Codegen(format!("function {nth}: unexpected relocation target {other:?}")));
                }
            };
            self.fixups.push(Fixup { at: start + r.offset as usize, kind: r.kind, func, addend: r.addend });
        }
        Ok(())
    }

    /// Offset of function `i`.
    pub fn start(&self, i: usize) -> usize {
        self.starts[i]
    }

    /// Patch the calls for an image loaded at address `base`.
    pub fn link(&mut self, base: u64) -> Result<(), JitError> {
        for f in &self.fixups {
            let Some(&target) = self.starts.get(f.func) else {
                return Err(JitError::Codegen(format!("call to missing function {}", f.func)));
            };
            let pc = base.wrapping_add(f.at as u64);
            let dest = base.wrapping_add(target as u64).wrapping_add_signed(f.addend);
            let delta = dest.wrapping_sub(pc) as i64;
            let out_of_range = || JitError::Codegen(format!("call at offset {} out of range ({delta})", f.at));
            let site = self.bytes.get_mut(f.at..f.at + 4).ok_or_else(out_of_range)?;
            match f.kind {
                Reloc::X86CallPCRel4 | Reloc::X86PCRel4 => {
                    let v = i32::try_from(delta).map_err(|_| out_of_range())?;
                    site.copy_from_slice(&v.to_le_bytes());
                }
                Reloc::Arm64Call => {
                    // `bl`: a signed 26-bit count of instructions.
                    if delta % 4 != 0 || !(-(1 << 27)..(1 << 27)).contains(&delta) {
                        return Err(out_of_range());
                    }
                    let word = u32::from_le_bytes([site[0], site[1], site[2], site[3]]);
                    let word = (word & !0x03ff_ffff) | ((delta >> 2) as u32 & 0x03ff_ffff);
                    site.copy_from_slice(&word.to_le_bytes());
                }
                kind => return Err(JitError::Codegen(format!("unsupported relocation {kind:?} at {}", f.at))),
            }
        }
        Ok(())
    }
}

/// Where in a cache line the function should start (bytes after a multiple of
/// `align`) so that the most deeply nested loops span as few 64-byte lines, and
/// then as few 32-byte fetch windows, as they can; the smallest such offset. Loops
/// are found from the block layout: an edge to a block at or before its source
/// closes one, from the target's start to the end of the source block.
///
/// Measured (`examples/pad_sweep.rs`): the 36-byte inner loop of the strcmp
/// benchmark runs 1.6-1.9x slower when it straddles a 64-byte line; Cranelift has no
/// loop alignment of its own. Other placement effects are not modelled: the sieve's
/// time varies 1.7x with its offset while its inner loop stays in one line (its
/// outer loop is hot too); offset 0, which this picks for it, was the fastest.
fn loop_friendly_pad(loops: &[(u32, u32)], step: usize, align: usize) -> usize {
    let cost = |pad: usize| -> u32 {
        let spans = |lo: u32, hi: u32, size: u32| (pad as u32 + hi - 1) / size - (pad as u32 + lo) / size + 1;
        loops.iter().map(|&(lo, hi)| 8 * spans(lo, hi, 64) + spans(lo, hi, 32)).sum()
    };
    (0..align.min(64)).step_by(step.max(1)).min_by_key(|&p| (cost(p), p)).unwrap_or(0)
}

/// The byte ranges of `loops` (header slot, latch slot) in a function's code: from
/// the first byte of the loop's slots' code to the end of the latch slot's first
/// piece of code after it (its jump back; cold blocks, placed at the end of the
/// function, are not part of the hot loop). Found through the instructions' source
/// locations, which the translator sets to their slots. (Cranelift's block offsets
/// and edges, `machine_code_cfg_info`, pair offsets with the wrong blocks once cold
/// blocks are moved to the end.)
fn loop_ranges(code: &CompiledCode, loops: &[(usize, usize)]) -> Vec<(u32, u32)> {
    let locs = code.buffer.get_srclocs_sorted();
    let mut out = Vec::new();
    for &(header, latch) in loops {
        let within = |a: usize, b: usize| {
            locs.iter().filter(move |l| !l.loc.is_default() && (a..=b).contains(&(l.loc.bits() as usize)))
        };
        // The header slot itself may have no code of its own (an address computation
        // folded into a load): the loop starts with its first slot that has some.
        let Some(lo) = within(header, latch).map(|l| l.start).min() else { continue };
        let Some(hi) = within(latch, latch).filter(|l| l.start >= lo).min_by_key(|l| l.start).map(|l| l.end) else {
            continue;
        };
        if hi > lo {
            out.push((lo, hi));
        }
    }
    out
}

/// An image linked and placed in memory that was written while read+write and is
/// read+execute from then on (W^X); unmapped on drop.
pub(crate) struct ExecCode {
    mem: SystemMemoryProvider,
    ptr: *const u8,
}

impl ExecCode {
    pub fn place(mut image: Image) -> Result<ExecCode, JitError> {
        let mut mem = SystemMemoryProvider::new();
        let io = |e: std::io::Error| JitError::Codegen(format!("code memory: {e}"));
        let ptr = mem.allocate(image.bytes.len().max(1), FUNC_ALIGN as u64, JITMemoryKind::Executable).map_err(io)?;
        image.link(ptr as u64)?;
        // SAFETY: `allocate` returned `bytes.len()` writable bytes at `ptr`.
        unsafe { std::ptr::copy_nonoverlapping(image.bytes.as_ptr(), ptr, image.bytes.len()) };
        // Read+execute from here on (and the instruction cache told where needed).
        mem.finalize(BranchProtection::None).map_err(|e| JitError::Codegen(format!("code memory: {e}")))?;
        Ok(ExecCode { mem, ptr })
    }

    /// Address of byte `offset` of the image.
    pub fn at(&self, offset: usize) -> *const u8 {
        self.ptr.wrapping_add(offset)
    }
}

impl Drop for ExecCode {
    fn drop(&mut self) {
        // SAFETY: the owner guarantees no run is in progress and no pointer into the
        // code outlives it.
        unsafe { self.mem.free_memory() };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{analysis, analysis_input, codegen, program_vm, JitOptions, RegAlloc};

    /// The image of the strcmp benchmark (tests/bench), unchecked, for the host.
    fn strcmp_image() -> Image {
        bench_image("tests/bench/strcmp.bpf.o")
    }

    /// The image of a benchmark object's `bpfbox` program, unchecked, for the host.
    fn bench_image(file: &str) -> Image {
        let path = format!("{}/../../{file}", env!("CARGO_MANIFEST_DIR"));
        let data = std::fs::read(path).unwrap();
        let obj = bpfbox_object::Object::parse(&data).unwrap();
        let insns = bpfbox_isa::decode_program(&obj.section("bpfbox").unwrap().bytes).unwrap();
        let opts = JitOptions { checked: false, count_insns: false, ..Default::default() };
        let vm = program_vm(&insns, &opts).unwrap();
        let prog = analysis_input(&vm, &opts).unwrap();
        let funcs = analysis::analyze(&prog);
        let cfg = codegen::Cfg { checked: false, count: false, regalloc: RegAlloc::Backtracking };
        let isa = codegen::host_isa(RegAlloc::Backtracking).unwrap();
        codegen::translate(&prog, &funcs, &opts.helpers, cfg, &*isa).unwrap().0
    }

    #[test]
    fn inner_loops_are_placed_within_one_cache_line() {
        let image = strcmp_image();
        let (lo, hi) = *image.hot_loops.first().expect("strcmp has an inner loop");
        assert!(hi - lo <= 64, "the inner loop is {} bytes", hi - lo);
        assert_eq!(lo / 64, (hi - 1) / 64, "inner loop at {lo:#x}..{hi:#x} straddles a line");
        assert_eq!(lo / 32, (hi - 1) / 32 - 1, "and spans two 32-byte windows at most (36 bytes)");
    }

    /// memcmp's loop has a header slot with no code of its own (its address is folded
    /// into the loads) and a cold exit block after it: it is still found, with the
    /// bytes from its first load to its jump back, and placed within one line. (Found
    /// from Cranelift's block offsets, it was not, and the function was placed by
    /// four wrong ranges: the loop straddled a line and ran 1.9x slower.)
    #[test]
    fn a_loop_whose_header_folds_into_its_loads_is_placed_within_one_line() {
        let image = bench_image("tests/bench/run/memcmp.bpf.o");
        assert_eq!(image.hot_loops.len(), 1, "{:x?}", image.hot_loops);
        let (lo, hi) = image.hot_loops[0];
        assert!((24..=48).contains(&(hi - lo)), "a loop of {} bytes: {lo:#x}..{hi:#x}", hi - lo);
        assert_eq!(lo / 64, (hi - 1) / 64, "inner loop at {lo:#x}..{hi:#x} straddles a line");
    }

    #[test]
    fn the_smallest_offset_that_fits_wins() {
        // Already within a line: stays at 0.
        assert_eq!(loop_friendly_pad(&[(0x85, 0x99)], 1, 64), 0);
        // 0x34..0x58 straddles 0x40: the first offset that moves it past is 12.
        assert_eq!(loop_friendly_pad(&[(0x34, 0x58)], 1, 64), 12);
        // AArch64: whole instructions only.
        assert_eq!(loop_friendly_pad(&[(0x34, 0x58)], 4, 64), 12);
        assert_eq!(loop_friendly_pad(&[(0x36, 0x58)], 4, 64), 12);
        assert_eq!(loop_friendly_pad(&[], 1, 64), 0);
    }
}
