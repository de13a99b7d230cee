//! Postgres CSV fields. NULL is an empty unquoted field; every text value is quoted, so
//! `''` can never be read back as NULL. A quote inside is doubled; nothing else is special
//! inside quotes (CR, LF, backslash, `\.` all travel verbatim).

/// Appends `s` as a quoted CSV field.
#[inline]
pub fn put_text(out: &mut Vec<u8>, s: &[u8]) {
    out.reserve(s.len() + 2);
    out.push(b'"');
    let mut rest = s;
    while let Some(i) = memchr::memchr(b'"', rest) {
        out.extend_from_slice(&rest[..=i]);
        out.push(b'"');
        rest = &rest[i + 1..];
    }
    out.extend_from_slice(rest);
    out.push(b'"');
}

/// Position of the first `needle` in `b`. Looks at the next 32 bytes a word at a time
/// before handing over to memchr: in quote-dense text (JSON, with a quote every ~10
/// bytes) and short fields memchr's per-call setup cost more than the search itself.
#[inline]
pub fn find_byte(needle: u8, b: &[u8]) -> Option<usize> {
    let pattern = ONES * needle as u64;
    let mut at = 0;
    while at < 32 {
        let Some(w) = b.get(at..at + 8) else {
            return b[at..].iter().position(|&c| c == needle).map(|p| at + p);
        };
        let hits = zero_bytes(word(w) ^ pattern);
        if hits != 0 {
            return Some(at + hits.trailing_zeros() as usize / 8);
        }
        at += 8;
    }
    memchr::memchr(needle, &b[at..]).map(|p| at + p)
}

/// One in every byte: `ONES * b` repeats byte b eight times.
pub const ONES: u64 = 0x0101_0101_0101_0101;

/// The high bit set in exactly the bytes of `v` that are zero (no false positives).
#[inline(always)]
pub fn zero_bytes(v: u64) -> u64 {
    const LO7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    !(((v & LO7) + LO7) | v | LO7)
}

/// Eight bytes as a little-endian word (byte i in bits 8i..8i+8).
#[inline(always)]
pub fn word(w: &[u8]) -> u64 {
    u64::from_le_bytes([w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]])
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Appends bytes in bytea hex input form (`\x0a1b...`); safe unquoted in CSV.
#[inline]
pub fn put_bytea(out: &mut Vec<u8>, b: &[u8]) {
    out.reserve(2 + b.len() * 2);
    out.extend_from_slice(b"\\x");
    for &x in b {
        out.push(HEX[(x >> 4) as usize]);
        out.push(HEX[(x & 15) as usize]);
    }
}

#[inline]
pub fn put_hex_lower(out: &mut Vec<u8>, b: &[u8]) {
    for &x in b {
        out.push(HEX[(x >> 4) as usize]);
        out.push(HEX[(x & 15) as usize]);
    }
}

/// Appends a zero-padded decimal number of exactly `width` digits.
#[inline]
pub fn put_padded(out: &mut Vec<u8>, mut v: u32, width: usize) {
    let start = out.len();
    out.resize(start + width, b'0');
    let mut i = start + width;
    while v > 0 && i > start {
        i -= 1;
        out[i] = b'0' + (v % 10) as u8;
        v /= 10;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_one(field: &[u8]) -> Option<String> {
        // A record with the field and a sentinel column, parsed the way a CSV reader does.
        let mut line = field.to_vec();
        line.extend_from_slice(b",x\n");
        let mut r = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(&line[..]);
        let rec = r.records().next().unwrap().unwrap();
        Some(rec[0].to_string())
    }

    #[test]
    fn encode_empty_string_is_quoted_not_null() {
        let mut out = Vec::new();
        put_text(&mut out, b"");
        assert_eq!(out, b"\"\"");
    }

    #[test]
    fn encode_quotes_are_doubled_and_specials_verbatim() {
        let mut out = Vec::new();
        put_text(&mut out, b"a\"b\r\n\\.\n,\t\"");
        assert_eq!(out, b"\"a\"\"b\r\n\\.\n,\t\"\"\"");
        assert_eq!(parse_one(&out).unwrap(), "a\"b\r\n\\.\n,\t\"");
    }

    #[test]
    fn bytea_hex_of_all_bytes() {
        let all: Vec<u8> = (0..=255).collect();
        let mut out = Vec::new();
        put_bytea(&mut out, &all);
        assert_eq!(out.len(), 2 + 512);
        assert!(out.starts_with(b"\\x000102"));
        assert!(out.ends_with(b"fdfeff"));
    }

    #[test]
    fn padded_numbers() {
        let mut out = Vec::new();
        put_padded(&mut out, 7, 4);
        put_padded(&mut out, 123456, 6);
        put_padded(&mut out, 5, 2);
        assert_eq!(out, b"000712345605");
    }

    proptest::proptest! {
        #[test]
        fn find_byte_finds_the_first(b in proptest::collection::vec(
            proptest::sample::select(vec![b'a', b'"', 0u8, 0x80, 0xff, 0x22 ^ 0x80]), 0..100)) {
            proptest::prop_assert_eq!(find_byte(b'"', &b), b.iter().position(|&c| c == b'"'));
            proptest::prop_assert_eq!(find_byte(0, &b), b.iter().position(|&c| c == 0));

        }

        #[test]
        fn encode_text_round_trips_through_a_csv_reader(s in ".*") {
            let mut out = Vec::new();
            put_text(&mut out, s.as_bytes());
            // Never an empty unquoted field: Postgres would read NULL.
            proptest::prop_assert!(out.len() >= 2 && out[0] == b'"');
            proptest::prop_assert_eq!(parse_one(&out).unwrap(), s);
        }
    }
}
