//! Converters and the CSV encoder on realistic rows, no network: MB/s of CSV per core;
//! and the loader's CSV -> binary COPY re-encoding of the same rows (MB/s of CSV in).

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use my2pg::convert::Converter;
use mysql_async::Value;

fn rows() -> Vec<Vec<Value>> {
    (0..10_000u32)
        .map(|i| {
            vec![
                Value::Bytes(format!("a0eebc99-9c0b-4ef8-bb6d-{:012X}", i).into_bytes()),
                Value::Date(2024, 1 + (i % 12) as u8, 1 + (i % 28) as u8, 10, 20, 30, i * 7 % 1_000_000),
                Value::Int((i % 2) as i64),
                Value::Bytes(format!("Title {i} with \"quotes\", commas").into_bytes()),
                Value::Bytes(
                    format!("# Heading {i}\r\n\r\nSome *markdown* body text with émoji 😀 and a longer paragraph that goes on for a while.\n- item\n- item {i}\n").into_bytes(),
                ),
                Value::Bytes(format!(r#"{{"id":{i},"tags":["a","b"],"nested":{{"k":"värde \"q\""}}}}"#).into_bytes()),
                Value::UInt(i as u64 * 1000),
                Value::Bytes(if i % 3 == 0 { b"created".to_vec() } else { b"updated".to_vec() }),
            ]
        })
        .collect()
}

fn converters() -> Vec<Converter> {
    vec![
        Converter::Uuid,
        Converter::Timestamp { frac_digits: 6 },
        Converter::Bool,
        Converter::Text {
            max_chars: Some(255),
        },
        Converter::Text { max_chars: None },
        Converter::Json {
            jsonb: true,
            last_key_wins: false,
        },
        Converter::Int {
            min: i64::MIN as i128,
            max: i64::MAX as i128,
            target: "bigint",
        },
        Converter::PgEnum {
            labels: vec!["created".into(), "updated".into(), "deleted".into()],
        },
    ]
}

fn encode_all(rows: &[Vec<Value>], convs: &[Converter], out: &mut Vec<u8>) {
    out.clear();
    for row in rows {
        for (i, c) in convs.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            c.convert(&row[i], out).expect("bench rows are valid");
        }
        out.push(b'\n');
    }
}

fn bench(c: &mut Criterion) {
    let rows = rows();
    let convs = converters();
    let mut out = Vec::new();
    encode_all(&rows, &convs, &mut out);
    let mut g = c.benchmark_group("transform");
    g.throughput(Throughput::Bytes(out.len() as u64));
    g.bench_function("alkemio_row_10k", |b| {
        b.iter(|| {
            encode_all(black_box(&rows), &convs, &mut out);
            black_box(out.len())
        })
    });
    g.finish();
    let mut g = c.benchmark_group("converter");
    for (i, conv) in convs.iter().enumerate() {
        let col: Vec<&Value> = rows.iter().map(|r| &r[i]).collect();
        let mut buf = Vec::new();
        for v in &col {
            conv.convert(v, &mut buf).expect("valid");
        }
        g.throughput(Throughput::Bytes(buf.len() as u64));
        g.bench_function(conv.name(), |b| {
            b.iter(|| {
                buf.clear();
                for v in &col {
                    conv.convert(v, &mut buf).expect("valid");
                }
                black_box(buf.len())
            })
        });
    }
    // Production-shaped JSON: in_app_notification payloads of the bench dataset (~2.6 KB
    // each: nested objects, escapes, raw and escaped unicode), the bulk of a large tenant.
    let payloads: Vec<Value> = include_str!("data/notification_payloads.jsonl")
        .lines()
        .map(|l| Value::Bytes(l.as_bytes().to_vec()))
        .collect();
    let jsonb = Converter::Json {
        jsonb: true,
        last_key_wins: false,
    };
    let mut buf = Vec::new();
    for v in &payloads {
        jsonb.convert(v, &mut buf).expect("valid");
    }
    g.throughput(Throughput::Bytes(buf.len() as u64));
    g.bench_function("jsonb_notification_payload", |b| {
        b.iter(|| {
            buf.clear();
            for v in &payloads {
                jsonb.convert(v, &mut buf).expect("valid");
            }
            black_box(buf.len())
        })
    });
    g.finish();
    // The loader side: the chunk CSV above re-encoded as binary COPY, in 256 KiB pieces
    // as the loader reads them.
    use my2pg::pipeline::binary::Field;
    let fields = vec![
        Field::Uuid,
        Field::Timestamp,
        Field::Bool,
        Field::Text,
        Field::Text,
        Field::Jsonb,
        Field::Int8,
        Field::Text,
    ];
    encode_all(&rows, &convs, &mut out);
    let mut g = c.benchmark_group("load");
    transcode(&mut g, "csv_to_binary_copy_10k", &out, &fields);
    // A JSON-heavy table (in_app_notification's shape): the payload dominates the bytes.
    let mut notif = Vec::new();
    let payload_rows: Vec<Vec<Value>> = payloads
        .iter()
        .cycle()
        .take(2_000)
        .enumerate()
        .map(|(i, p)| {
            vec![
                Value::Bytes(format!("b1eebc99-9c0b-4ef8-bb6d-{i:012x}").into_bytes()),
                Value::Date(2024, 3, 1 + (i % 28) as u8, 8, 0, 1, 250_000),
                p.clone(),
                Value::Bytes(b"USER_MENTIONED".to_vec()),
            ]
        })
        .collect();
    let notif_convs = [
        Converter::Uuid,
        Converter::Timestamp { frac_digits: 6 },
        jsonb.clone(),
        Converter::Text { max_chars: None },
    ];
    encode_all(&payload_rows, &notif_convs, &mut notif);
    let notif_fields = vec![Field::Uuid, Field::Timestamp, Field::Jsonb, Field::Text];
    transcode(
        &mut g,
        "csv_to_binary_copy_notification_2k",
        &notif,
        &notif_fields,
    );
    g.finish();
}

/// The loader's re-encoding of chunk CSV as binary COPY, in 256 KiB pieces as it reads them.
fn transcode(
    g: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    name: &str,
    csv: &[u8],
    fields: &[my2pg::pipeline::binary::Field],
) {
    use my2pg::pipeline::binary::Transcoder;
    g.throughput(Throughput::Bytes(csv.len() as u64));
    g.bench_function(name, |b| {
        let mut wire = bytes::BytesMut::new();
        b.iter(|| {
            wire.clear();
            let mut t = Transcoder::new(fields.to_vec());
            for piece in csv.chunks(256 * 1024) {
                t.feed(piece, &mut wire).expect("valid CSV");
            }
            t.finish(&mut wire).expect("complete");
            black_box(wire.len())
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
