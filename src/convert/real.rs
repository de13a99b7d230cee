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

/// The text Postgres prints for a `double precision` (float8out, Ryu built the same way
/// as for real): ryu's shortest decimal unless it lies exactly on a halfway point to a
/// neighbouring double, where the shortest correctly rounded decimal strictly inside is
/// taken. A MySQL DOUBLE into numeric takes these digits (`float8::text::numeric`).
/// `x` must be finite.
pub fn pg_double_text(x: f64) -> String {
    let fast = ryu::Buffer::new().format_finite(x).to_string();
    if x == 0.0 || !on_double_halfway(&fast, x) {
        return fast;
    }
    for digits in 1..=17 {
        let c = format!("{:.*e}", digits - 1, x);
        if c.parse::<f64>() == Ok(x) && !on_double_halfway(&c, x) {
            return c;
        }
    }
    // Seventeen digits always identify a double strictly inside its interval.
    fast
}

/// Whether the decimal `s` (ryu's or Rust's `{:e}` form) is exactly one of the halfway
/// points between `x` and its neighbours. Exact without big numbers: a decimal is
/// D * 2^a * 5^b and a halfway point H * 2^q with H odd, and by unique factorization
/// they are equal only when the parts are.
fn on_double_halfway(s: &str, x: f64) -> bool {
    let Some((d, k)) = decimal_parts(s) else {
        return false;
    };
    if d == 0 {
        return false;
    }
    let (mut d, mut twos, mut fives) = (u128::from(d), k, k);
    while d % 2 == 0 {
        d /= 2;
        twos += 1;
    }
    while d % 5 == 0 {
        d /= 5;
        fives += 1;
    }
    double_halfway_points(x.abs()).into_iter().any(|(h, q)| {
        let (mut h, mut h_fives) = (h, 0);
        while h % 5 == 0 {
            h /= 5;
            h_fives += 1;
        }
        h == d && q == twos && h_fives == fives
    })
}

/// A decimal's digits as an integer D and exponent k, value D * 10^k (sign ignored).
fn decimal_parts(s: &str) -> Option<(u64, i32)> {
    let s = s.trim_start_matches('-');
    let (mantissa, exp) = match s.split_once(['e', 'E']) {
        Some((m, e)) => (m, e.parse::<i32>().ok()?),
        None => (s, 0),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let mut d: u64 = 0;
    for b in int.bytes().chain(frac.bytes()) {
        if !b.is_ascii_digit() {
            return None;
        }
        d = d.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
    }
    Some((d, exp - i32::try_from(frac.len()).ok()?))
}

/// A positive finite double as m * 2^e with m an integer.
fn double_parts(x: f64) -> (u64, i32) {
    let bits = x.to_bits() & !(1 << 63);
    let exp = (bits >> 52) as i32;
    let frac = bits & ((1 << 52) - 1);
    if exp == 0 {
        (frac, -1074)
    } else {
        (frac | (1 << 52), exp - 1075)
    }
}

/// The two halfway points of `x` (positive, finite, not zero), each as H * 2^q, H odd.
fn double_halfway_points(x: f64) -> [(u128, i32); 2] {
    // Neighbours' exponents differ by at most one, so the sum fits in u128.
    let mid = |(m1, e1): (u64, i32), (m2, e2): (u64, i32)| {
        let e = e1.min(e2);
        let mut h = (u128::from(m1) << (e1 - e)) + (u128::from(m2) << (e2 - e));
        let mut q = e - 1;
        while h % 2 == 0 {
            h /= 2;
            q += 1;
        }
        (h, q)
    };
    let bits = x.to_bits();
    let this = double_parts(x);
    let below = double_parts(f64::from_bits(bits - 1));
    // Above f64::MAX the next step would be 2^1024.
    let above = if x == f64::MAX {
        (1 << 52, 972)
    } else {
        double_parts(f64::from_bits(bits + 1))
    };
    [mid(below, this), mid(this, above)]
}

#[cfg(test)]
mod tests {
    use super::{pg_double_text, pg_real_text};

    #[test]
    fn postgres_never_picks_a_double_on_the_halfway_point() {
        // Values (as exact f64 literals) and PostgreSQL 17's `SELECT x::float8::text`.
        for (x, pg) in [
            (0.1, "0.1"),
            (1.0, "1.0"),
            (-0.0, "-0.0"),
            (f64::MAX, "1.7976931348623157e308"),
            (f64::from_bits(1), "5e-324"),
            (f64::MIN_POSITIVE, "2.2250738585072014e-308"),
            (9_007_199_254_740_992_f64, "9007199254740992.0"),
            // ryu: 3.747626587151678e16, on the halfway point to the next double.
            (37_476_265_871_516_784_f64, "3.7476265871516784e16"),
            (-3_494_717_822_445_343_744_f64, "-3.4947178224453437e18"),
            (1_938_847_153_975_439_872_f64, "1.9388471539754399e18"),
        ] {
            let got = pg_double_text(x);
            assert_eq!(got, pg, "{x:e}");
            assert_eq!(got.parse::<f64>().unwrap().to_bits(), x.to_bits(), "{x:e}");
        }
    }

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
