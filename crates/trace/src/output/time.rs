//! `time(fmt)` and `strftime(fmt, ns)`: the C library's `localtime_r` and `strftime`, as
//! bpftrace calls them (so every conversion, the time zone and the C locale are glibc's).
//! Declared here directly rather than through the `libc` crate: two functions and `struct tm`.

use std::ffi::{c_char, c_int, c_long, CString};

/// bpftrace formats into a 64-byte buffer (`STRING_SIZE`): longer results are errors.
const TIME_BUFFER: usize = 64;

/// glibc's `struct tm` (x86-64 and aarch64 Linux).
#[repr(C)]
struct Tm {
    tm_sec: c_int,
    tm_min: c_int,
    tm_hour: c_int,
    tm_mday: c_int,
    tm_mon: c_int,
    tm_year: c_int,
    tm_wday: c_int,
    tm_yday: c_int,
    tm_isdst: c_int,
    tm_gmtoff: c_long,
    tm_zone: *const c_char,
}

unsafe extern "C" {
    fn localtime_r(time: *const i64, result: *mut Tm) -> *mut Tm;
    fn strftime(s: *mut c_char, max: usize, format: *const c_char, tm: *const Tm) -> usize;
}

/// `time(fmt)`'s text for `unix_secs` (seconds since the epoch), in local time. `Err` where
/// bpftrace prints an error and nothing else: a format with a NUL, a result that is empty or
/// does not fit in 63 bytes ("strftime returned 0").
pub fn format_time(fmt: &str, unix_secs: i64) -> Result<String, String> {
    let fmt = CString::new(fmt).map_err(|_| "time: format contains a NUL byte".to_string())?;
    let mut tm = Tm {
        tm_sec: 0,
        tm_min: 0,
        tm_hour: 0,
        tm_mday: 0,
        tm_mon: 0,
        tm_year: 0,
        tm_wday: 0,
        tm_yday: 0,
        tm_isdst: 0,
        tm_gmtoff: 0,
        tm_zone: std::ptr::null(),
    };
    // SAFETY: both pointers are to live, properly laid out locals.
    if unsafe { localtime_r(&unix_secs, &mut tm) }.is_null() {
        return Err("localtime_r failed".to_string());
    }
    let mut buf = [0u8; TIME_BUFFER];
    // SAFETY: `buf` has `TIME_BUFFER` bytes, `fmt` is NUL-terminated, `tm` was filled above.
    let n = unsafe { strftime(buf.as_mut_ptr().cast(), buf.len(), fmt.as_ptr(), &tm) };
    if n == 0 {
        return Err("strftime returned 0".to_string());
    }
    Ok(String::from_utf8_lossy(&buf[..n.min(buf.len())]).into_owned())
}

/// `strftime(fmt, ns)`'s text: `unix_nsecs` is the timestamp as nanoseconds since the epoch
/// (the runtime adds the boot time to the BPF `nsecs`). bpftrace prints `(?)` when the result
/// is empty or too long.
pub fn format_strftime(fmt: &str, unix_nsecs: u64) -> String {
    let secs = i64::try_from(unix_nsecs / 1_000_000_000).unwrap_or(i64::MAX);
    format_time(fmt, secs).unwrap_or_else(|_| "(?)".to_string())
}
