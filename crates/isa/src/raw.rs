//! The raw 8-byte instruction slot and opcode constants (RFC 9669 section 3).

/// One 8-byte instruction slot as stored (little-endian host layout).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct RawInsn {
    pub code: u8,
    /// Low nibble of byte 1.
    pub dst: u8,
    /// High nibble of byte 1.
    pub src: u8,
    pub off: i16,
    pub imm: i32,
}

impl RawInsn {
    /// Parse 8 bytes (little-endian). `b` must hold at least 8 bytes.
    pub fn from_bytes(b: &[u8]) -> RawInsn {
        let mut a = [0u8; 8];
        a.copy_from_slice(&b[..8]);
        RawInsn {
            code: a[0],
            dst: a[1] & 0x0f,
            src: a[1] >> 4,
            off: i16::from_le_bytes([a[2], a[3]]),
            imm: i32::from_le_bytes([a[4], a[5], a[6], a[7]]),
        }
    }

    pub fn to_bytes(&self) -> [u8; 8] {
        let off = self.off.to_le_bytes();
        let imm = self.imm.to_le_bytes();
        [self.code, (self.dst & 0xf) | (self.src << 4), off[0], off[1], imm[0], imm[1], imm[2], imm[3]]
    }
}

/// Split bytes into slots; trailing bytes (fewer than 8) are ignored.
pub fn slots(bytes: &[u8]) -> Vec<RawInsn> {
    bytes.chunks_exact(8).map(RawInsn::from_bytes).collect()
}

// Classes.
pub const BPF_LD: u8 = 0x00;
pub const BPF_LDX: u8 = 0x01;
pub const BPF_ST: u8 = 0x02;
pub const BPF_STX: u8 = 0x03;
pub const BPF_ALU: u8 = 0x04;
pub const BPF_JMP: u8 = 0x05;
pub const BPF_JMP32: u8 = 0x06;
pub const BPF_ALU64: u8 = 0x07;
// Source.
pub const BPF_K: u8 = 0x00;
pub const BPF_X: u8 = 0x08;
// ALU ops.
pub const BPF_ADD: u8 = 0x00;
pub const BPF_SUB: u8 = 0x10;
pub const BPF_MUL: u8 = 0x20;
pub const BPF_DIV: u8 = 0x30;
pub const BPF_OR: u8 = 0x40;
pub const BPF_AND: u8 = 0x50;
pub const BPF_LSH: u8 = 0x60;
pub const BPF_RSH: u8 = 0x70;
pub const BPF_NEG: u8 = 0x80;
pub const BPF_MOD: u8 = 0x90;
pub const BPF_XOR: u8 = 0xa0;
pub const BPF_MOV: u8 = 0xb0;
pub const BPF_ARSH: u8 = 0xc0;
pub const BPF_END: u8 = 0xd0;
// Jump ops.
pub const BPF_JA: u8 = 0x00;
pub const BPF_JEQ: u8 = 0x10;
pub const BPF_JGT: u8 = 0x20;
pub const BPF_JGE: u8 = 0x30;
pub const BPF_JSET: u8 = 0x40;
pub const BPF_JNE: u8 = 0x50;
pub const BPF_JSGT: u8 = 0x60;
pub const BPF_JSGE: u8 = 0x70;
pub const BPF_CALL: u8 = 0x80;
pub const BPF_EXIT: u8 = 0x90;
pub const BPF_JLT: u8 = 0xa0;
pub const BPF_JLE: u8 = 0xb0;
pub const BPF_JSLT: u8 = 0xc0;
pub const BPF_JSLE: u8 = 0xd0;
/// `may_goto` (`BPF_JMP` only, src = [`BPF_MAY_GOTO`]).
pub const BPF_JCOND: u8 = 0xe0;
pub const BPF_MAY_GOTO: u8 = 0;
/// `off` of `BPF_ALU64 | BPF_MOV | BPF_X` marking `addr_space_cast`.
pub const BPF_ADDR_SPACE_CAST: i16 = 1;
// Load/store sizes.
pub const BPF_W: u8 = 0x00;
pub const BPF_H: u8 = 0x08;
pub const BPF_B: u8 = 0x10;
pub const BPF_DW: u8 = 0x18;
// Load/store modes.
pub const BPF_IMM: u8 = 0x00;
pub const BPF_ABS: u8 = 0x20;
pub const BPF_IND: u8 = 0x40;
pub const BPF_MEM: u8 = 0x60;
pub const BPF_MEMSX: u8 = 0x80;
pub const BPF_ATOMIC: u8 = 0xc0;
// Atomic `imm` values beyond the read-modify-writes.
pub const BPF_LOAD_ACQ: i32 = 0x100;
pub const BPF_STORE_REL: i32 = 0x110;
