//! MySQL/MariaDB spatial values. A geometry column holds the server's internal form: a
//! 4-byte little-endian SRID, then the value as WKB (OGC Well-Known Binary; the servers
//! write it little-endian, a big-endian part is read as well). It leaves as:
//! - bytea: EWKB, PostGIS's extended WKB. SRID 0 gives plain WKB (what `ST_AsBinary`
//!   returns); any other SRID is kept in the outer geometry's header (flag 0x20000000,
//!   then the SRID), so nothing the source held is lost.
//! - point: the coordinates of a Point, as the shortest decimals that read back as the
//!   same doubles.
//!
//! Every value's WKB is walked in full first: a truncated or trailing-garbage value, or
//! an unknown geometry type, is refused rather than copied as opaque bytes.

use super::{err, ConvertError, ProblemClass};

const EWKB_SRID_FLAG: u32 = 0x2000_0000;
/// Collections nest; a value nested deeper than this is refused (the servers build far
/// shallower ones), so a hostile value cannot exhaust the stack.
const MAX_DEPTH: usize = 64;

fn invalid<T>(why: &'static str) -> Result<T, ConvertError> {
    err(ProblemClass::InvalidGeometry, why)
}

/// The SRID and the WKB of a stored value.
pub fn split(b: &[u8]) -> Result<(u32, &[u8]), ConvertError> {
    if b.len() < 4 + 1 + 4 {
        return invalid("not a MySQL geometry value (too short)");
    }
    let srid = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
    Ok((srid, &b[4..]))
}

struct Reader<'a> {
    b: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], ConvertError> {
        let end = self
            .at
            .checked_add(n)
            .filter(|&e| e <= self.b.len())
            .map_or_else(|| invalid("truncated WKB"), Ok)?;
        let s = &self.b[self.at..end];
        self.at = end;
        Ok(s)
    }

    fn u32(&mut self, little: bool) -> Result<u32, ConvertError> {
        let s = self.take(4)?;
        let a = [s[0], s[1], s[2], s[3]];
        Ok(if little {
            u32::from_le_bytes(a)
        } else {
            u32::from_be_bytes(a)
        })
    }

    fn f64(&mut self, little: bool) -> Result<f64, ConvertError> {
        let s = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(s);
        Ok(if little {
            f64::from_le_bytes(a)
        } else {
            f64::from_be_bytes(a)
        })
    }

    /// A count of items of at least `min_bytes` each that the rest can hold.
    fn count(&mut self, little: bool, min_bytes: usize) -> Result<usize, ConvertError> {
        let n = self.u32(little)? as usize;
        if n.saturating_mul(min_bytes) > self.b.len() - self.at {
            return invalid("truncated WKB");
        }
        Ok(n)
    }

    /// One geometry with its header: (byte order little, type).
    fn header(&mut self) -> Result<(bool, u32), ConvertError> {
        let little = match self.take(1)?[0] {
            1 => true,
            0 => false,
            _ => return invalid("not WKB (bad byte-order mark)"),
        };
        Ok((little, self.u32(little)?))
    }

    fn geometry(&mut self, depth: usize) -> Result<u32, ConvertError> {
        if depth > MAX_DEPTH {
            return invalid("geometry collections nested too deeply");
        }
        let (little, ty) = self.header()?;
        match ty {
            1 => {
                self.take(16)?;
            }
            2 => {
                let n = self.count(little, 16)?;
                self.take(n * 16)?;
            }
            3 => {
                for _ in 0..self.count(little, 4)? {
                    let n = self.count(little, 16)?;
                    self.take(n * 16)?;
                }
            }
            4..=7 => {
                for _ in 0..self.count(little, 5)? {
                    let inner = self.geometry(depth + 1)?;
                    let fits = match ty {
                        7 => true,
                        _ => inner == ty - 3,
                    };
                    if !fits {
                        return invalid("a multi-geometry holds a part of another type");
                    }
                }
            }
            _ => return invalid("unknown WKB geometry type (MySQL has 2D types 1-7 only)"),
        }
        Ok(ty)
    }
}

/// Walks the whole WKB; returns its outer geometry type.
fn check(wkb: &[u8]) -> Result<u32, ConvertError> {
    let mut r = Reader { b: wkb, at: 0 };
    let ty = r.geometry(0)?;
    if r.at != wkb.len() {
        return invalid("bytes after the end of the WKB geometry");
    }
    Ok(ty)
}

/// Appends the value as EWKB in bytea's hex input form (`\x...`).
pub fn put_ewkb(out: &mut Vec<u8>, stored: &[u8]) -> Result<(), ConvertError> {
    let (srid, wkb) = split(stored)?;
    check(wkb)?;
    if srid == 0 {
        crate::encode::put_bytea(out, wkb);
        return Ok(());
    }
    let little = wkb[0] == 1;
    let ty = u32::from_le_bytes([wkb[1], wkb[2], wkb[3], wkb[4]]);
    let ty = if little { ty } else { ty.swap_bytes() };
    let (ty, srid) = if little {
        ((ty | EWKB_SRID_FLAG).to_le_bytes(), srid.to_le_bytes())
    } else {
        ((ty | EWKB_SRID_FLAG).to_be_bytes(), srid.to_be_bytes())
    };
    out.reserve(2 + (wkb.len() + 4) * 2);
    out.extend_from_slice(b"\\x");
    crate::encode::put_hex_lower(out, &wkb[..1]);
    crate::encode::put_hex_lower(out, &ty);
    crate::encode::put_hex_lower(out, &srid);
    crate::encode::put_hex_lower(out, &wkb[5..]);
    Ok(())
}

/// The coordinates of a Point value.
pub fn point(stored: &[u8]) -> Result<(f64, f64), ConvertError> {
    let (_, wkb) = split(stored)?;
    if check(wkb)? != 1 {
        return invalid("not a Point (a point column takes points only)");
    }
    let mut r = Reader { b: wkb, at: 0 };
    let (little, _) = r.header()?;
    Ok((r.f64(little)?, r.f64(little)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(srid: u32, wkb: &str) -> Vec<u8> {
        let mut v = srid.to_le_bytes().to_vec();
        v.extend(hex::decode(wkb).unwrap());
        v
    }

    fn ewkb(b: &[u8]) -> Result<String, ConvertError> {
        let mut out = Vec::new();
        put_ewkb(&mut out, b)?;
        Ok(String::from_utf8(out).unwrap())
    }

    // POINT(1 -1), the MySQL manual's WKB example.
    const POINT: &str = "0101000000000000000000f03f000000000000f0bf";

    #[test]
    fn srid_zero_is_plain_wkb_and_other_srids_go_into_the_header() {
        assert_eq!(ewkb(&stored(0, POINT)).unwrap(), format!("\\x{POINT}"));
        // PostGIS: SELECT ST_AsEWKB('SRID=4326;POINT(1 -1)') (little-endian).
        assert_eq!(
            ewkb(&stored(4326, POINT)).unwrap(),
            "\\x0101000020e6100000000000000000f03f000000000000f0bf"
        );
        // A big-endian value keeps its byte order, header included.
        let be = "00000000013ff0000000000000bff0000000000000";
        assert_eq!(
            ewkb(&stored(3857, be)).unwrap(),
            "\\x002000000100000f113ff0000000000000bff0000000000000"
        );
    }

    #[test]
    fn collections_are_walked_and_malformed_values_refused() {
        // GEOMETRYCOLLECTION(POINT(1 -1), LINESTRING(1 -1, 1 -1))
        let line =
            "010200000002000000000000000000f03f000000000000f0bf000000000000f03f000000000000f0bf";
        let gc = format!("010700000002000000{POINT}{line}");
        assert!(ewkb(&stored(0, &gc)).is_ok());
        // An empty collection (MySQL 8 allows one).
        assert!(ewkb(&stored(0, "010700000000000000")).is_ok());
        for (bad, why) in [
            (POINT[..POINT.len() - 2].to_string(), "truncated WKB"),
            (
                format!("{POINT}00"),
                "bytes after the end of the WKB geometry",
            ),
            (
                "010800000000000000".to_string(),
                "unknown WKB geometry type",
            ),
            ("020100000000".to_string(), "not WKB (bad byte-order mark)"),
            // MULTIPOINT holding a LINESTRING.
            (
                format!("010400000001000000{line}"),
                "a multi-geometry holds a part of another type",
            ),
            // A count far beyond the bytes present is refused before any allocation.
            ("0102000000ffffffff".to_string(), "truncated WKB"),
        ] {
            let e = ewkb(&stored(0, &bad)).unwrap_err();
            assert_eq!(e.class, ProblemClass::InvalidGeometry);
            assert!(e.message.starts_with(why), "{bad}: {}", e.message);
        }
        assert_eq!(
            split(&[0, 0, 0]).unwrap_err().message,
            "not a MySQL geometry value (too short)"
        );
        // Nesting is bounded.
        let mut deep = String::new();
        for _ in 0..100 {
            deep.push_str("010700000001000000");
        }
        deep.push_str(POINT);
        let e = ewkb(&stored(0, &deep)).unwrap_err();
        assert_eq!(e.message, "geometry collections nested too deeply");
    }

    #[test]
    fn point_coordinates_and_non_points() {
        assert_eq!(point(&stored(4326, POINT)).unwrap(), (1.0, -1.0));
        let line = "010200000001000000000000000000f03f000000000000f0bf";
        assert_eq!(
            point(&stored(0, line)).unwrap_err().message,
            "not a Point (a point column takes points only)"
        );
    }
}

#[cfg(test)]
mod remedy_tests {
    use crate::convert::{Converter, ProblemClass};

    #[test]
    fn a_bytea_target_is_not_told_to_become_bytea() {
        assert_eq!(
            ProblemClass::InvalidGeometry.remedy_for(&Converter::GeometryEwkb, true, None),
            "fix them in the source (SET c = ST_GeomFromWKB(ST_AsWKB(c), ST_SRID(c)) rewrites a \
             value as MariaDB reads it)"
        );
        assert_eq!(
            ProblemClass::InvalidGeometry.remedy_for(&Converter::GeometryPoint, true, None),
            "fix them in the source, or make the target column bytea (EWKB holds any geometry)"
        );
    }
}
