//! A push parser for Postgres CSV (the chunk files and `COPY ... TO STDOUT (FORMAT csv,
//! FORCE_QUOTE *)`): fed arbitrary byte slices, it emits batches of records. An empty
//! unquoted field is NULL; a quoted field (`""` doubles a quote) is text, `""` is `''`.
//! A batch keeps its field bytes in one buffer, so parsing allocates per batch, not per
//! value.

/// Rows per batch handed to the hashing workers.
pub const BATCH_ROWS: usize = 1024;
/// A batch also ends once its bytes pass this size (rows with large values).
pub const BATCH_BYTES: usize = 4 << 20;

const NULL: (usize, usize) = (usize::MAX, usize::MAX);

#[derive(Debug, Default)]
pub struct TextBatch {
    pub data: Vec<u8>,
    spans: Vec<(usize, usize)>,
    pub ncols: usize,
}

impl TextBatch {
    pub fn new(ncols: usize) -> TextBatch {
        TextBatch {
            ncols,
            ..Default::default()
        }
    }

    /// An empty batch with room for about as much as `like` holds.
    pub fn with_capacity_like(like: &TextBatch) -> TextBatch {
        TextBatch {
            data: Vec::with_capacity(like.data.len().min(BATCH_BYTES) + 1024),
            spans: Vec::with_capacity(like.spans.len()),
            ncols: like.ncols,
        }
    }

    /// Appends the next field (None = NULL).
    pub fn push(&mut self, field: Option<&[u8]>) {
        match field {
            None => self.spans.push(NULL),
            Some(f) => {
                let start = self.data.len();
                self.data.extend_from_slice(f);
                self.spans.push((start, self.data.len()));
            }
        }
    }

    pub fn rows(&self) -> usize {
        self.spans.len().checked_div(self.ncols).unwrap_or(0)
    }

    /// Field `col` of row `row`; None = NULL.
    pub fn field(&self, row: usize, col: usize) -> Option<&[u8]> {
        let (s, e) = self.spans[row * self.ncols + col];
        (s != usize::MAX).then(|| &self.data[s..e])
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum St {
    /// At the start of a field.
    Start,
    Unquoted,
    Quoted,
    /// A quote inside a quoted field: a doubled quote or the field's end.
    QuoteSeen,
}

pub struct CsvParser {
    ncols: usize,
    st: St,
    cur: TextBatch,
    field_start: usize,
    in_row: usize,
    ready: Vec<TextBatch>,
    /// Records parsed so far (for error messages).
    pub records: u64,
}

impl CsvParser {
    pub fn new(ncols: usize) -> CsvParser {
        CsvParser {
            ncols,
            st: St::Start,
            cur: TextBatch {
                ncols,
                ..Default::default()
            },
            field_start: 0,
            in_row: 0,
            ready: Vec::new(),
            records: 0,
        }
    }

    /// Completed batches so far.
    pub fn take_ready(&mut self) -> Vec<TextBatch> {
        std::mem::take(&mut self.ready)
    }

    pub fn feed(&mut self, input: &[u8]) -> Result<(), String> {
        let mut i = 0;
        while i < input.len() {
            match self.st {
                St::Start => {
                    let c = input[i];
                    i += 1;
                    self.field_start = self.cur.data.len();
                    match c {
                        b'"' => self.st = St::Quoted,
                        b',' => self.end_field(true)?,
                        b'\n' => {
                            self.end_field(true)?;
                            self.end_row()?;
                        }
                        _ => {
                            self.cur.data.push(c);
                            self.st = St::Unquoted;
                        }
                    }
                }
                St::Unquoted => {
                    let rest = &input[i..];
                    match memchr::memchr2(b',', b'\n', rest) {
                        Some(p) => {
                            self.cur.data.extend_from_slice(&rest[..p]);
                            i += p + 1;
                            self.end_field(false)?;
                            if rest[p] == b'\n' {
                                self.end_row()?;
                            }
                        }
                        None => {
                            if memchr::memchr(b'"', rest).is_some() {
                                return Err(self.error("a quote inside an unquoted field"));
                            }
                            self.cur.data.extend_from_slice(rest);
                            i = input.len();
                        }
                    }
                }
                St::Quoted => {
                    let rest = &input[i..];
                    match memchr::memchr(b'"', rest) {
                        Some(p) => {
                            self.cur.data.extend_from_slice(&rest[..p]);
                            i += p + 1;
                            self.st = St::QuoteSeen;
                        }
                        None => {
                            self.cur.data.extend_from_slice(rest);
                            i = input.len();
                        }
                    }
                }
                St::QuoteSeen => {
                    let c = input[i];
                    i += 1;
                    match c {
                        b'"' => {
                            self.cur.data.push(b'"');
                            self.st = St::Quoted;
                        }
                        b',' => self.end_field(false)?,
                        b'\n' => {
                            self.end_field(false)?;
                            self.end_row()?;
                        }
                        _ => return Err(self.error("a character after a closing quote")),
                    }
                }
            }
        }
        Ok(())
    }

    /// The last (partial) batch; the input must end at the end of a record.
    pub fn finish(mut self) -> Result<Option<TextBatch>, String> {
        if self.st != St::Start || self.in_row != 0 {
            return Err(self.error("the data ends inside a record"));
        }
        let mut out = self.take_ready();
        if self.cur.rows() > 0 {
            out.push(std::mem::take(&mut self.cur));
        }
        debug_assert!(out.len() <= 1);
        Ok(out.pop())
    }

    fn error(&self, what: &str) -> String {
        format!("malformed CSV: {what} in record {}", self.records + 1)
    }

    fn end_field(&mut self, null: bool) -> Result<(), String> {
        if self.in_row == self.ncols {
            return Err(self.error(&format!("more than {} fields", self.ncols)));
        }
        self.cur.spans.push(if null {
            NULL
        } else {
            (self.field_start, self.cur.data.len())
        });
        self.in_row += 1;
        self.st = St::Start;
        Ok(())
    }

    fn end_row(&mut self) -> Result<(), String> {
        if self.in_row != self.ncols {
            return Err(self.error(&format!(
                "{} fields where {} were expected",
                self.in_row, self.ncols
            )));
        }
        self.in_row = 0;
        self.records += 1;
        if self.cur.rows() >= BATCH_ROWS || self.cur.data.len() >= BATCH_BYTES {
            // The next batch is likely about as large: allocate it once.
            let next = TextBatch::with_capacity_like(&self.cur);
            let full = std::mem::replace(&mut self.cur, next);
            self.ready.push(full);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(input: &[u8], ncols: usize, split: usize) -> Result<Vec<Vec<Option<String>>>, String> {
        let mut p = CsvParser::new(ncols);
        for part in input.chunks(split.max(1)) {
            p.feed(part)?;
        }
        let mut batches = p.take_ready();
        batches.extend(p.finish()?);
        let mut rows = Vec::new();
        for b in &batches {
            for r in 0..b.rows() {
                rows.push(
                    (0..ncols)
                        .map(|c| {
                            b.field(r, c)
                                .map(|f| String::from_utf8_lossy(f).into_owned())
                        })
                        .collect(),
                );
            }
        }
        Ok(rows)
    }

    #[test]
    fn nulls_empty_strings_quotes_and_newlines() {
        let input = b"1,,\"\"\n2,\"a\"\"b\r\n,c\",\\x00ff\n";
        for split in [1, 2, 3, 7, 1000] {
            let rows = parse(input, 3, split).unwrap();
            assert_eq!(
                rows,
                vec![
                    vec![Some("1".into()), None, Some("".into())],
                    vec![
                        Some("2".into()),
                        Some("a\"b\r\n,c".into()),
                        Some("\\x00ff".into())
                    ],
                ],
                "split {split}"
            );
        }
    }

    #[test]
    fn malformed_input_is_an_error() {
        assert!(parse(b"1,2\n", 3, 100).is_err());
        assert!(parse(b"1,2,3,4\n", 3, 100).is_err());
        assert!(parse(b"1,\"x\"y,3\n", 3, 100).is_err());
        assert!(parse(b"1,2,3", 3, 100).is_err());
        assert!(parse(b"1,\"2,3\n", 3, 100).is_err());
    }

    #[test]
    fn many_rows_make_several_batches() {
        let mut input = Vec::new();
        for i in 0..(BATCH_ROWS * 2 + 5) {
            input.extend_from_slice(format!("{i},\"x\"\n").as_bytes());
        }
        let rows = parse(&input, 2, 4096).unwrap();
        assert_eq!(rows.len(), BATCH_ROWS * 2 + 5);
        assert_eq!(rows.last().unwrap()[0].as_deref(), Some("2052"));
    }
}
