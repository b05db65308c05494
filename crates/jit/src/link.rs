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
}

impl Image {
    /// Append function number `self.len()`. `names` are the function's imported
    /// names (a local call imports `UserExternalName { namespace: 0, index: callee }`).
    pub fn push(
        &mut self,
        code: &CompiledCode,
        names: &PrimaryMap<UserExternalNameRef, UserExternalName>,
    ) -> Result<(), JitError> {
        let align = FUNC_ALIGN.max(code.buffer.alignment as usize);
        let start = self.bytes.len().next_multiple_of(align);
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
