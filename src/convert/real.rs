//! The text Postgres prints for a `real` (float4out with extra_float_digits > 0): Ryu's
//! shortest decimal, but built without STRICTLY_SHORTEST, so a decimal lying exactly on
//! the boundary halfway to a neighbouring float is never chosen (Rust's `ryu` accepts
//! it when the mantissa is even: `33893570` where Postgres prints `3.3893568e+07`).
//! A MySQL FLOAT copied into double precision or numeric takes these digits, so the
//! column holds what `real::text::float8` (or `::numeric`) gives; verify reads the same.

use std::cmp::Ordering;

/// The shortest decimal that reads back as `x` and lies strictly between the halfway
/// points to its neighbours, in Rust's `{:e}` or ryu's form (`3.3893568e7`,
/// `299.64062`). `x` must be finite.
pub fn pg_real_text(x: f32) -> String {
    let fast = ryu::Buffer::new().format_finite(x).to_string();
    if x == 0.0 {
        return fast;
    }
    let (lo, hi) = halfway_points(x.abs());
    // A decimal exactly on a halfway point parses to it (it is representable in f64);
    // anything else ryu chose is strictly inside and also Postgres's choice.
    let back = fast
        .trim_start_matches('-')
        .parse::<f64>()
        .unwrap_or(f64::NAN);
    if back != lo && back != hi {
        return fast;
    }
    // Rare: the shortest length whose correctly rounded decimal is strictly inside.
    let (lo, hi) = (exact(lo), exact(hi));
    for digits in 1..=9 {
        let c = format!("{:.*e}", digits - 1, f64::from(x.abs()));
        let d = parse(&c);
        if compare(&d, &lo) == Ordering::Greater && compare(&d, &hi) == Ordering::Less {
            return if x < 0.0 { format!("-{c}") } else { c };
        }
    }
    // Nine digits always identify a float strictly inside its interval.
    fast
}

/// The halfway points between `x` (positive, finite, not zero) and its neighbours,
/// exact in f64. (Neighbours by bit pattern: positive floats order like their bits.)
fn halfway_points(x: f32) -> (f64, f64) {
    let below = f64::from(f32::from_bits(x.to_bits() - 1));
    let x64 = f64::from(x);
    let above = if x == f32::MAX {
        x64 + (x64 - below)
    } else {
        f64::from(f32::from_bits(x.to_bits() + 1))
    };
    ((below + x64) / 2.0, (x64 + above) / 2.0)
}

/// A positive decimal as (significant digits without trailing zeros, exponent of the
/// first digit).
fn parse(sci: &str) -> (Vec<u8>, i32) {
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci, "0"));
    let mut digits: Vec<u8> = mantissa.bytes().filter(u8::is_ascii_digit).collect();
    while digits.len() > 1 && digits.last() == Some(&b'0') {
        digits.pop();
    }
    (digits, exp.parse().unwrap_or(0))
}

/// The exact decimal value of an f64 halfway point of floats (at most 25 significant
/// bits; its expansion ends within 120 digits).
fn exact(v: f64) -> (Vec<u8>, i32) {
    parse(&format!("{v:.120e}"))
}

fn compare(a: &(Vec<u8>, i32), b: &(Vec<u8>, i32)) -> Ordering {
    a.1.cmp(&b.1).then_with(|| {
        let n = a.0.len().max(b.0.len());
        let pad = |d: &[u8], i: usize| d.get(i).copied().unwrap_or(b'0');
        (0..n)
            .map(|i| pad(&a.0, i).cmp(&pad(&b.0, i)))
            .find(|o| o.is_ne())
            .unwrap_or(Ordering::Equal)
    })
}

#[cfg(test)]
mod tests {
    use super::pg_real_text;

    #[test]
    fn postgres_never_picks_a_decimal_on_the_halfway_point() {
        // Values and Postgres 17's `SELECT x::real::text` (shown there as e+07 etc.).
        for (x, pg) in [
            (33_893_568.0_f32, "3.3893568e7"),
            (60_523_168.0, "6.0523168e7"),
            (-396_105_216.0, "-3.9610522e8"),
            (f32::from_bits(0x4395_d200), "299.64062"),
            (0.1, "0.1"),
            (1.0, "1.0"),
            (16_777_216.0, "16777216.0"),
            (f32::MAX, "3.4028235e38"),
            (f32::from_bits(1), "1e-45"),
            (-0.0, "-0.0"),
        ] {
            let got = pg_real_text(x);
            assert_eq!(got, pg, "{x:e}");
            assert_eq!(got.parse::<f32>().unwrap().to_bits(), x.to_bits(), "{x:e}");
        }
    }
}
