//! `printf` as bpftrace 0.17 does it: which `%...` sequences are conversions, the type
//! check's messages, and C's formatting of each conversion.
//!
//! bpftrace finds conversions with the regex `%-?[0-9]*(\.[0-9]+)?(<length><conv>)`, cuts the
//! format after each one and hands every piece to `snprintf` with its argument; the text after
//! the last conversion is printed as it is. So `%%` is `%` before a conversion but stays `%%`
//! after the last one, and `%%d` is a conversion. All that is kept here. Beyond bpftrace, the
//! flags `+`, space, `#` and `0` may precede the width and `%i` is accepted: bpftrace rejects
//! those formats (or prints garbage), so no script it runs prints differently.

use super::value::{hex_format, Value};

/// Widths and precisions above this are refused rather than printed (bpftrace would pad to
/// any size up to `INT_MAX`).
pub const MAX_FIELD_WIDTH: usize = 1 << 20;

/// The type of a `printf` argument, as bpftrace's type checker names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArgKind {
    None,
    Integer,
    Pointer,
    Record,
    Hist,
    Lhist,
    Count,
    Sum,
    Min,
    Max,
    Avg,
    Stats,
    Kstack,
    Ustack,
    String,
    Ksym,
    Usym,
    Probe,
    Username,
    Inet,
    StackMode,
    Array,
    Buffer,
    Tuple,
    Timestamp,
    MacAddress,
    CgroupPath,
    Strerror,
}

impl ArgKind {
    /// The name bpftrace prints for the type.
    pub fn name(self) -> &'static str {
        match self {
            ArgKind::None => "none",
            ArgKind::Integer => "integer",
            ArgKind::Pointer => "pointer",
            ArgKind::Record => "record",
            ArgKind::Hist => "hist",
            ArgKind::Lhist => "lhist",
            ArgKind::Count => "count",
            ArgKind::Sum => "sum",
            ArgKind::Min => "min",
            ArgKind::Max => "max",
            ArgKind::Avg => "avg",
            ArgKind::Stats => "stats",
            ArgKind::Kstack => "kstack",
            ArgKind::Ustack => "ustack",
            ArgKind::String => "string",
            ArgKind::Ksym => "ksym",
            ArgKind::Usym => "usym",
            ArgKind::Probe => "probe",
            ArgKind::Username => "username",
            ArgKind::Inet => "inet",
            ArgKind::StackMode => "stack mode",
            ArgKind::Array => "array",
            ArgKind::Buffer => "buffer",
            ArgKind::Tuple => "tuple",
            ArgKind::Timestamp => "timestamp",
            ArgKind::MacAddress => "mac_address",
            ArgKind::CgroupPath => "cgroup_path",
            ArgKind::Strerror => "strerror",
        }
    }

    /// Symbols and the like print as strings, pointers as integers.
    fn normalized(self) -> ArgKind {
        match self {
            ArgKind::Ksym
            | ArgKind::Usym
            | ArgKind::Probe
            | ArgKind::Username
            | ArgKind::Kstack
            | ArgKind::Ustack
            | ArgKind::Inet
            | ArgKind::Timestamp
            | ArgKind::MacAddress
            | ArgKind::CgroupPath => ArgKind::String,
            ArgKind::Pointer => ArgKind::Integer,
            other => other,
        }
    }
}

/// Why a format and its arguments do not go together; `Display` is bpftrace's message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PrintfError {
    #[error("printf: Not enough arguments for format string ({supplied} supplied, {expected} expected)")]
    NotEnoughArguments { supplied: usize, expected: usize },
    #[error("printf: Too many arguments for format string ({supplied} supplied, {expected} expected)")]
    TooManyArguments { supplied: usize, expected: usize },
    #[error("printf: %{token} specifier expects a value of type {expected} ({supplied} supplied)")]
    WrongKind { token: String, expected: &'static str, supplied: &'static str },
    #[error("printf: %{token} field width or precision {value} is larger than {MAX_FIELD_WIDTH}")]
    TooWide { token: String, value: usize },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Length {
    None,
    Char,
    Short,
    Long,
}

/// One conversion found in a format string.
#[derive(Debug, Clone)]
struct Spec {
    start: usize,
    end: usize,
    /// Where the length and conversion letters start (bpftrace's "token").
    token_start: usize,
    left: bool,
    plus: bool,
    space: bool,
    alt: bool,
    zero: bool,
    width: usize,
    precision: Option<usize>,
    length: Length,
    conv: u8,
    /// `%rx`: every byte in hex.
    hex_buffer: bool,
}

impl Spec {
    fn token<'a>(&self, fmt: &'a str) -> &'a str {
        fmt.get(self.token_start..self.end).unwrap_or("")
    }

    fn expected(&self) -> ArgKind {
        match self.conv {
            b's' => ArgKind::String,
            b'r' => ArgKind::Buffer,
            _ => ArgKind::Integer,
        }
    }
}

fn digits(bytes: &[u8], mut i: usize) -> (usize, usize) {
    let mut value = 0usize;
    while let Some(d) = bytes.get(i).filter(|b| b.is_ascii_digit()) {
        value = value.saturating_mul(10).saturating_add(usize::from(d - b'0'));
        i += 1;
    }
    (value, i)
}

/// The conversion starting at the `%` at `start`, if the text there is one.
fn parse_spec(bytes: &[u8], start: usize) -> Option<Spec> {
    let mut i = start + 1;
    let (mut left, mut plus, mut space, mut alt, mut zero) = (false, false, false, false, false);
    loop {
        match bytes.get(i) {
            Some(b'-') => left = true,
            Some(b'+') => plus = true,
            Some(b' ') => space = true,
            Some(b'#') => alt = true,
            Some(b'0') => zero = true,
            _ => break,
        }
        i += 1;
    }
    let (width, after_width) = digits(bytes, i);
    i = after_width;
    let mut precision = None;
    if bytes.get(i) == Some(&b'.') {
        let (p, after) = digits(bytes, i + 1);
        if after == i + 1 {
            return None;
        }
        precision = Some(p);
        i = after;
    }
    let token_start = i;
    let rest = &bytes[i.min(bytes.len())..];
    let (length, len_chars) = if rest.starts_with(b"hh") {
        (Length::Char, 2)
    } else if rest.starts_with(b"ll") {
        (Length::Long, 2)
    } else {
        match rest.first() {
            Some(b'h') => (Length::Short, 1),
            Some(b'l' | b'j' | b'z' | b't') => (Length::Long, 1),
            _ => (Length::None, 0),
        }
    };
    i += len_chars;
    let conv = *bytes.get(i)?;
    let takes_length = matches!(conv, b'd' | b'i' | b'u' | b'o' | b'x' | b'X' | b'p');
    if !(takes_length || length == Length::None && matches!(conv, b'c' | b's' | b'r')) {
        return None;
    }
    let hex_buffer = conv == b'r' && bytes.get(i + 1) == Some(&b'x');
    let end = i + 1 + usize::from(hex_buffer);
    Some(Spec { start, end, token_start, left, plus, space, alt, zero, width, precision, length, conv, hex_buffer })
}

/// The conversions of a format string, leftmost first, as bpftrace's regex finds them.
fn conversions(fmt: &str) -> Vec<Spec> {
    let bytes = fmt.as_bytes();
    let mut specs = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            if let Some(spec) = parse_spec(bytes, i) {
                i = spec.end;
                specs.push(spec);
                continue;
            }
        }
        i += 1;
    }
    specs
}

/// The type check of `printf(fmt, args...)`: the number of arguments and each one's kind.
pub fn check_printf(fmt: &str, args: &[ArgKind]) -> Result<(), PrintfError> {
    check_specs(fmt, &conversions(fmt), args)
}

fn check_specs(fmt: &str, specs: &[Spec], args: &[ArgKind]) -> Result<(), PrintfError> {
    let (supplied, expected) = (args.len(), specs.len());
    if supplied < expected {
        return Err(PrintfError::NotEnoughArguments { supplied, expected });
    }
    if supplied > expected {
        return Err(PrintfError::TooManyArguments { supplied, expected });
    }
    for (spec, kind) in specs.iter().zip(args) {
        let kind = kind.normalized();
        let token = spec.token(fmt).to_string();
        if kind != spec.expected() {
            let expected = spec.expected().name();
            return Err(PrintfError::WrongKind { token, expected, supplied: kind.name() });
        }
        let value = spec.width.max(spec.precision.unwrap_or(0));
        if value > MAX_FIELD_WIDTH {
            return Err(PrintfError::TooWide { token, value });
        }
    }
    Ok(())
}

/// `printf(fmt, args...)`'s output, byte for byte bpftrace's for the formats bpftrace accepts.
pub fn format_printf(fmt: &str, args: &[Value]) -> Result<String, PrintfError> {
    let specs = conversions(fmt);
    let kinds: Vec<ArgKind> = args.iter().map(Value::arg_kind).collect();
    check_specs(fmt, &specs, &kinds)?;
    let mut out = String::new();
    let mut last = 0;
    for (spec, arg) in specs.iter().zip(args) {
        snprintf_piece(&mut out, fmt.get(last..spec.end).unwrap_or(""), spec, arg);
        last = spec.end;
    }
    out.push_str(fmt.get(last..).unwrap_or(""));
    Ok(out)
}

/// What `snprintf(piece, arg)` prints for one piece bpftrace cut the format into: literal
/// text, then the conversion `spec` at the piece's end. As in C, `%%` (also with flags or a
/// width between, `%5%`) is `%`, and it may swallow the conversion's own `%`: bpftrace counts
/// `%%d` as a conversion, C prints it as `%d` and the argument is unused. Any other `%` is
/// printed as it is (as glibc does).
fn snprintf_piece(out: &mut String, piece: &str, spec: &Spec, arg: &Value) {
    let bytes = piece.as_bytes();
    let conversion_at = piece.len().saturating_sub(spec.end - spec.start);
    let mut literal = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            if i == conversion_at {
                out.push_str(&String::from_utf8_lossy(&literal));
                out.push_str(&convert(spec, arg));
                return;
            }
            let mut j = i + 1;
            while j < bytes.len() && b"-+ #.0123456789".contains(&bytes[j]) {
                j += 1;
            }
            if bytes.get(j) == Some(&b'%') {
                literal.push(b'%');
                i = j + 1;
                continue;
            }
        }
        literal.push(bytes[i]);
        i += 1;
    }
    out.push_str(&String::from_utf8_lossy(&literal));
}

/// One conversion applied to its (type-checked) argument.
fn convert(spec: &Spec, arg: &Value) -> String {
    match spec.conv {
        b's' => pad(spec, truncate(&arg.text(1), spec.precision), false),
        b'r' => {
            let text = match arg {
                Value::Buf(bytes) => hex_format(bytes, !spec.hex_buffer),
                other => other.text(1),
            };
            pad(spec, truncate(&text, spec.precision), false)
        }
        b'c' => pad(spec, char::from(arg.int_bits().unwrap_or(0) as u8).to_string(), false),
        _ => format_integer(spec, arg.int_bits().unwrap_or(0)),
    }
}

/// `%.Ns`: at most N bytes (cut back to a character boundary).
fn truncate(text: &str, precision: Option<usize>) -> String {
    let Some(mut n) = precision else {
        return text.to_string();
    };
    if n >= text.len() {
        return text.to_string();
    }
    while !text.is_char_boundary(n) {
        n -= 1;
    }
    text[..n].to_string()
}

/// Pad to the field width: spaces on the left, or on the right with `-`; with `zero_pad`,
/// zeros after the sign and `0x`.
fn pad(spec: &Spec, body: String, zero_pad: bool) -> String {
    let len = body.chars().count();
    if spec.width <= len {
        return body;
    }
    let fill = spec.width - len;
    if spec.left {
        format!("{body}{:fill$}", "")
    } else if zero_pad {
        let (prefix, digits) = body.split_at(prefix_len(&body));
        format!("{prefix}{}{digits}", "0".repeat(fill))
    } else {
        format!("{:fill$}{body}", "")
    }
}

/// The length of a number's sign and `0x`/`0X` prefix.
fn prefix_len(body: &str) -> usize {
    let sign = usize::from(body.starts_with(['-', '+', ' ']));
    let rest = &body[sign..];
    if rest.starts_with("0x") || rest.starts_with("0X") {
        sign + 2
    } else {
        sign
    }
}

/// C's integer conversions on the argument's 64 bits, read at the conversion's length
/// (`%d` reads an `int`, `%ld` a `long`...).
fn format_integer(spec: &Spec, bits: u64) -> String {
    let signed = matches!(spec.conv, b'd' | b'i');
    let (negative, magnitude) = if signed {
        let v = match spec.length {
            Length::Char => i64::from(bits as u8 as i8),
            Length::Short => i64::from(bits as u16 as i16),
            Length::None => i64::from(bits as u32 as i32),
            Length::Long => bits as i64,
        };
        (v < 0, v.unsigned_abs())
    } else if spec.conv == b'p' {
        (false, bits)
    } else {
        let v = match spec.length {
            Length::Char => u64::from(bits as u8),
            Length::Short => u64::from(bits as u16),
            Length::None => u64::from(bits as u32),
            Length::Long => bits,
        };
        (false, v)
    };
    if spec.conv == b'p' && magnitude == 0 {
        return pad(spec, "(nil)".to_string(), false);
    }
    let mut digits = match spec.conv {
        b'o' => format!("{magnitude:o}"),
        b'x' | b'p' => format!("{magnitude:x}"),
        b'X' => format!("{magnitude:X}"),
        _ => magnitude.to_string(),
    };
    if let Some(precision) = spec.precision {
        if precision == 0 && magnitude == 0 {
            digits.clear();
        } else if digits.len() < precision {
            digits = format!("{}{digits}", "0".repeat(precision - digits.len()));
        }
    }
    let prefix = match spec.conv {
        b'o' if spec.alt && !digits.starts_with('0') => "0",
        b'x' if spec.alt && magnitude != 0 => "0x",
        b'X' if spec.alt && magnitude != 0 => "0X",
        b'p' => "0x",
        _ => "",
    };
    let sign = if negative {
        "-"
    } else if signed && spec.plus {
        "+"
    } else if signed && spec.space {
        " "
    } else {
        ""
    };
    let zero_pad = spec.zero && !spec.left && spec.precision.is_none();
    pad(spec, format!("{sign}{prefix}{digits}"), zero_pad)
}
