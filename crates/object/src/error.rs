//! Errors of reading a BPF ELF object.

/// Why an object file could not be read. Each variant says what is wrong and
/// where (section index and name, offsets, sizes).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ObjectError {
    #[error("not an ELF file (the first bytes are {magic:02x?}, expected 7f 45 4c 46)")]
    NotElf { magic: Vec<u8> },
    #[error("truncated file: the {what} needs {needed} bytes, the file has {len}")]
    Truncated { what: &'static str, needed: u64, len: u64 },
    #[error("unsupported ELF file: {what}")]
    Unsupported { what: &'static str },
    #[error("not a BPF object: e_machine is {machine} (EM_BPF is 247)")]
    NotBpf { machine: u16 },
    #[error("malformed ELF {what}: {detail}")]
    Malformed { what: String, detail: String },
    #[error(
        "section {index} `{name}`: data at offset {offset:#x}, size {size:#x} is outside the file ({file_len} bytes)"
    )]
    SectionOutOfBounds { index: usize, name: String, offset: u64, size: u64, file_len: u64 },
    #[error("code section {index} `{name}`: size {size} is not a multiple of 8 (the instruction size)")]
    BadSectionSize { index: usize, name: String, size: u64 },
    #[error("relocation section `{rel_section}` entry {entry}: offset {offset:#x} is outside section `{section}` ({size} bytes)")]
    RelocationOutOfBounds { rel_section: String, entry: usize, section: String, offset: u64, size: u64 },
    #[error("relocation section `{rel_section}` entry {entry}: symbol index {symbol} is not in the symbol table ({count} symbols)")]
    BadRelocationSymbol { rel_section: String, entry: usize, symbol: u32, count: usize },
    #[error("no function named `{0}` in any code section")]
    NoSuchFunction(String),
}

impl ObjectError {
    pub(crate) fn malformed(what: impl Into<String>, err: impl std::fmt::Display) -> ObjectError {
        ObjectError::Malformed { what: what.into(), detail: err.to_string() }
    }
}
