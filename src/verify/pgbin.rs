//! A push parser for `COPY ... TO STDOUT (FORMAT binary)`: fed the CopyData messages in
//! any split, it emits the same field batches as the CSV parser. Reading the target in
//! binary spares Postgres its text output functions (timestamps and UUIDs are costly to
//! print) and spares us the CSV unquoting: every field is length-prefixed.

use super::csv::{TextBatch, BATCH_BYTES, BATCH_ROWS};

const SIGNATURE: &[u8] = b"PGCOPY\n\xff\r\n\0";

pub struct BinaryParser {
    ncols: usize,
    /// Bytes of an incomplete header or tuple, waiting for the next message.
    carry: Vec<u8>,
    header_done: bool,
    ended: bool,
    cur: TextBatch,
    ready: Vec<TextBatch>,
    /// Tuples parsed so far (for error messages).
    pub records: u64,
}

enum Step {
    /// Consumed this many bytes.
    Done(usize),
    NeedMore,
}

impl BinaryParser {
    pub fn new(ncols: usize) -> BinaryParser {
        BinaryParser {
            ncols,
            carry: Vec::new(),
            header_done: false,
            ended: false,
            cur: TextBatch::new(ncols),
            ready: Vec::new(),
            records: 0,
        }
    }

    /// Completed batches so far.
    pub fn take_ready(&mut self) -> Vec<TextBatch> {
        std::mem::take(&mut self.ready)
    }

    pub fn feed(&mut self, input: &[u8]) -> Result<(), String> {
        if self.carry.is_empty() {
            let used = self.parse(input)?;
            self.carry.extend_from_slice(&input[used..]);
        } else {
            let mut buf = std::mem::take(&mut self.carry);
            buf.extend_from_slice(input);
            let used = self.parse(&buf)?;
            buf.drain(..used);
            self.carry = buf;
        }
        Ok(())
    }

    /// Parses as much of `b` as is complete; returns the bytes consumed.
    fn parse(&mut self, b: &[u8]) -> Result<usize, String> {
        let mut at = 0;
        if !self.header_done {
            // Signature, flags, header extension length, extension.
            let Some(ext) = b.get(SIGNATURE.len() + 4..SIGNATURE.len() + 8) else {
                return Ok(0);
            };
            if !b.starts_with(SIGNATURE) {
                return Err("not a binary COPY stream (bad signature)".into());
            }
            let ext = u32::from_be_bytes([ext[0], ext[1], ext[2], ext[3]]) as usize;
            let end = SIGNATURE.len() + 8 + ext;
            if b.len() < end {
                return Ok(0);
            }
            at = end;
            self.header_done = true;
        }
        while at < b.len() {
            if self.ended {
                return Err(self.error("data after the end marker"));
            }
            match self.tuple(&b[at..])? {
                Step::Done(n) => at += n,
                Step::NeedMore => break,
            }
        }
        Ok(at)
    }

    /// One tuple (or the end marker) from the start of `b`.
    fn tuple(&mut self, b: &[u8]) -> Result<Step, String> {
        let Some(count) = b.get(..2) else {
            return Ok(Step::NeedMore);
        };
        let count = i16::from_be_bytes([count[0], count[1]]);
        if count == -1 {
            self.ended = true;
            return Ok(Step::Done(2));
        }
        if count as usize != self.ncols {
            return Err(self.error(&format!(
                "{count} fields where {} were expected",
                self.ncols
            )));
        }
        // Check the tuple is complete before copying any of it.
        let mut at = 2;
        for _ in 0..self.ncols {
            let Some(len) = b.get(at..at + 4) else {
                return Ok(Step::NeedMore);
            };
            let len = i32::from_be_bytes([len[0], len[1], len[2], len[3]]);
            at += 4;
            if len > 0 {
                at += len as usize;
            } else if len < -1 {
                return Err(self.error("a negative field length"));
            }
        }
        if b.len() < at {
            return Ok(Step::NeedMore);
        }
        let mut i = 2;
        for _ in 0..self.ncols {
            let len = i32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
            i += 4;
            if len < 0 {
                self.cur.push(None);
            } else {
                self.cur.push(Some(&b[i..i + len as usize]));
                i += len as usize;
            }
        }
        self.records += 1;
        if self.cur.rows() >= BATCH_ROWS || self.cur.data.len() >= BATCH_BYTES {
            let next = TextBatch::with_capacity_like(&self.cur);
            self.ready.push(std::mem::replace(&mut self.cur, next));
        }
        Ok(Step::Done(at))
    }

    /// The last (partial) batch; the stream must have ended with its end marker.
    pub fn finish(mut self) -> Result<Option<TextBatch>, String> {
        if !self.ended || !self.carry.is_empty() {
            return Err(self.error("the data ends inside a tuple or before the end marker"));
        }
        let mut out = self.take_ready();
        if self.cur.rows() > 0 {
            out.push(std::mem::take(&mut self.cur));
        }
        debug_assert!(out.len() <= 1, "ready batches are taken after every feed");
        Ok(out.pop())
    }

    fn error(&self, what: &str) -> String {
        format!(
            "malformed binary COPY: {what} at tuple {}",
            self.records + 1
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream(rows: &[Vec<Option<&[u8]>>]) -> Vec<u8> {
        let mut s = SIGNATURE.to_vec();
        s.extend_from_slice(&0i32.to_be_bytes());
        s.extend_from_slice(&4i32.to_be_bytes());
        s.extend_from_slice(b"ext!");
        for r in rows {
            s.extend_from_slice(&(r.len() as i16).to_be_bytes());
            for f in r {
                match f {
                    None => s.extend_from_slice(&(-1i32).to_be_bytes()),
                    Some(v) => {
                        s.extend_from_slice(&(v.len() as i32).to_be_bytes());
                        s.extend_from_slice(v);
                    }
                }
            }
        }
        s.extend_from_slice(&(-1i16).to_be_bytes());
        s
    }

    fn parse(
        input: &[u8],
        ncols: usize,
        split: usize,
    ) -> Result<Vec<Vec<Option<Vec<u8>>>>, String> {
        let mut p = BinaryParser::new(ncols);
        for part in input.chunks(split.max(1)) {
            p.feed(part)?;
        }
        let mut batches = p.take_ready();
        batches.extend(p.finish()?);
        Ok(batches
            .iter()
            .flat_map(|b| {
                (0..b.rows())
                    .map(|r| {
                        (0..ncols)
                            .map(|c| b.field(r, c).map(<[u8]>::to_vec))
                            .collect()
                    })
                    .collect::<Vec<_>>()
            })
            .collect())
    }

    #[test]
    fn nulls_empty_values_and_any_split() {
        let rows: Vec<Vec<Option<&[u8]>>> = vec![
            vec![Some(b"\x00\x01"), None, Some(b"")],
            vec![Some(b"abc\"\n,"), Some(&[0xff; 300]), None],
        ];
        let input = stream(&rows);
        for split in [1, 2, 3, 7, 19, 100_000] {
            let got = parse(&input, 3, split).unwrap();
            let want: Vec<Vec<Option<Vec<u8>>>> = rows
                .iter()
                .map(|r| r.iter().map(|f| f.map(<[u8]>::to_vec)).collect())
                .collect();
            assert_eq!(got, want, "split {split}");
        }
    }

    #[test]
    fn malformed_streams_are_errors() {
        let good = stream(&[vec![Some(b"1"), None]]);
        assert!(parse(&good, 3, 100)
            .unwrap_err()
            .contains("2 fields where 3"));
        assert!(parse(&good[..good.len() - 2], 2, 100)
            .unwrap_err()
            .contains("before the end marker"));
        assert!(parse(&good[..good.len() - 5], 2, 100).is_err());
        assert!(parse(b"PGCOPY\nXXXXXXXXXXXXXXX", 2, 100)
            .unwrap_err()
            .contains("bad signature"));
        let mut extra = good.clone();
        extra.extend_from_slice(&[0, 2]);
        assert!(parse(&extra, 2, 100)
            .unwrap_err()
            .contains("after the end marker"));
    }

    #[test]
    fn many_rows_make_several_batches() {
        let n = BATCH_ROWS * 2 + 5;
        let vals: Vec<String> = (0..n).map(|i| i.to_string()).collect();
        let rows: Vec<Vec<Option<&[u8]>>> = vals.iter().map(|v| vec![Some(v.as_bytes())]).collect();
        let got = parse(&stream(&rows), 1, 4096).unwrap();
        assert_eq!(got.len(), n);
        assert_eq!(got[n - 1][0].as_deref(), Some(b"2052".as_slice()));
    }
}
