//! Journal segments (`--data-dir D`, D/wal/*.wal): `twin_store::segment::decode` on the
//! input as a record body, and `SegmentReader::open` + `next_record` over a file.
//!
//! The first byte chooses the file: even, the rest of the input as it is (headers,
//! lengths, checksums, sequence numbers as given); odd, a well-formed segment built
//! with `segment::encode` from the rest, split into bodies by a length byte each, so
//! that bodies get past the checksum to the record decoder.
#![no_main]
use twin_store::segment::{self, SegmentReader};

twin_fuzz::fuzz_parser!(|data: &[u8]| {
    let _ = segment::decode(data);
    let Some((&mode, rest)) = data.split_first() else { return };
    let file = if mode & 1 == 0 {
        rest.to_vec()
    } else {
        let first_seq = u64::from(mode >> 1);
        let mut out = segment::header(first_seq).to_vec();
        let mut left = rest;
        let mut seq = first_seq;
        while let Some((&n, tail)) = left.split_first() {
            let n = usize::from(n).min(tail.len());
            let (body, tail) = tail.split_at(n);
            segment::encode(&mut out, seq, |b| b.extend_from_slice(body));
            seq += 1;
            left = tail;
        }
        out
    };
    let path = twin_fuzz::scratch_file("segment.wal", &file);
    if let Ok(mut r) = SegmentReader::open(&path) {
        while let Some(Ok(_)) = r.next_record() {}
        let _ = (r.good_len(), r.damage().map(|d| d.to_string()));
    }
});
